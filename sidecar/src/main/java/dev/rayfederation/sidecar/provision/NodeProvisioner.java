package dev.rayfederation.sidecar.provision;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.member.MemberState;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.member.WorkerPod;
import dev.rayfederation.k8s.member.WorkerPodListener;
import dev.rayfederation.k8s.render.WorkerPodRenderer;
import dev.rayfederation.k8s.render.WorkerPodSpec;
import dev.rayfederation.k8s.resources.WorkerShape;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.Cluster;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.placement.Candidate;
import dev.rayfederation.sidecar.placement.PlacementPlanner;
import dev.rayfederation.sidecar.provision.CreateOutcome.Rejected;
import dev.rayfederation.sidecar.registry.NodeIds;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRecord.Phase;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import dev.rayfederation.sidecar.registry.RayTags;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Turns Ray's requests into worker pods across member clusters and keeps the registry in step with
 * what the members report (DESIGN §6). Placement decisions (quota, capacity, strategy) are taken under
 * one lock so concurrent requests can never overshoot a quota or a pool's maxWorkers; pod creation
 * happens outside it, in parallel.
 */
public final class NodeProvisioner {

    private static final Logger LOG = LoggerFactory.getLogger(NodeProvisioner.class);
    private static final Duration DELETE_RETRY_MIN = Duration.ofSeconds(1);
    private static final Duration DELETE_RETRY_MAX = Duration.ofSeconds(30);

    private final FederationConfig config;
    private final Map<String, MemberCluster> members;
    private final NodeRegistry registry;
    private final ScheduledExecutorService scheduler;
    private final FederationMetrics metrics;
    private final ReplacementPolicy policy;
    private final CapacityBackoff backoff;
    private final java.time.Clock clock;
    private final Map<String, Map<String, WorkerShape>> shapes = new HashMap<>();
    private final Object placementLock = new Object();
    private final RequestLog requests = new RequestLog(10_000);
    private final Tombstones tombstones = new Tombstones(100_000);
    private final Map<String, CompletionStage<Void>> starts = new LinkedHashMap<>();
    private final Map<String, List<NodeRecord>> lastKnown = new java.util.concurrent.ConcurrentHashMap<>();
    private StateStore state;
    private volatile long savedRevision = -1;

    public NodeProvisioner(FederationConfig config, Map<String, MemberCluster> members, NodeRegistry registry,
                           ScheduledExecutorService scheduler, FederationMetrics metrics) {
        this(config, members, registry, scheduler, metrics, ReplacementPolicy.defaults(), java.time.Clock.systemUTC());
    }

    public NodeProvisioner(FederationConfig config, Map<String, MemberCluster> members, NodeRegistry registry,
                           ScheduledExecutorService scheduler, FederationMetrics metrics, ReplacementPolicy policy,
                           java.time.Clock clock) {
        this.config = config;
        this.metrics = metrics;
        this.policy = policy;
        this.clock = clock;
        this.backoff = new CapacityBackoff(policy.backoffInitial(), policy.backoffMax(), clock);
        this.members = Map.copyOf(members);
        this.registry = registry;
        this.scheduler = scheduler;
        for (Pool pool : config.pools()) {
            Map<String, WorkerShape> byMember = new HashMap<>();
            for (String m : pool.clusters()) {
                Cluster c = config.cluster(m).orElseThrow();
                byMember.put(m, WorkerPodRenderer.shape(pool.template(), pool.overrides().getOrDefault(m, Map.of()),
                        pool.resources(), c.gpuResourceName()));
            }
            shapes.put(pool.name(), byMember);
        }
    }

    /**
     * Reads the state file (if any) before {@link #start()}: terminations not done yet are resumed, and the
     * last known nodes of a member are shown (stale) if that member cannot be reached at start-up.
     */
    public void restore(StateStore store) {
        this.state = store;
        for (StateStore.StoredNode s : store.load()) {
            if (!members.containsKey(s.member())) {
                continue;
            }
            NodeRecord r = s.toRecord(shape(s.pool(), s.member()) == null ? null : shape(s.pool(), s.member()));
            if (r.phase() == Phase.TERMINATING) {
                registry.put(r);
            } else {
                lastKnown.computeIfAbsent(r.member(), k -> new ArrayList<>()).add(r);
            }
        }
    }

    /** Subscribes to every member's pods and state, then starts them; returns at once. */
    public void start() {
        for (MemberCluster m : members.values()) {
            m.addWorkerPodListener(new MemberPods(m.name()));
            m.onStateChange(s -> {
                registry.setStale(m.name(), s == MemberState.UNREACHABLE);
                if (s.placeable()) {
                    reconcile(m);
                }
            });
            starts.put(m.name(), m.start().thenRun(() -> lastKnown.remove(m.name())).exceptionally(e -> {
                LOG.warn("member {} is unreachable at start-up ({}); it is left out of placement and retried",
                        m.name(), rootMessage(e));
                List<NodeRecord> known = lastKnown.remove(m.name());
                if (known != null) {
                    LOG.info("member {}: showing {} node(s) from the state file as stale until it answers", m.name(), known.size());
                    for (NodeRecord r : known) {
                        if (registry.get(r.id()).isEmpty()) {
                            registry.put(r);
                        }
                    }
                }
                return null;
            }));
        }
        for (NodeRecord r : registry.all()) {
            if (r.phase() == Phase.TERMINATING) {
                deleteUntilGone(r, DELETE_RETRY_MIN); // resumed from the state file
            }
        }
        if (state != null) {
            scheduler.scheduleWithFixedDelay(this::persist, 1, 1, TimeUnit.SECONDS);
        }
        long every = policy.checkInterval().toMillis();
        scheduler.scheduleWithFixedDelay(this::checkWorkers, every, every, TimeUnit.MILLISECONDS);
    }

    private void persist() {
        long rev = registry.revision();
        if (rev == savedRevision) {
            return;
        }
        try {
            state.save(registry.all());
            savedRevision = rev;
        } catch (java.io.IOException | RuntimeException e) {
            LOG.warn("cannot write state file {}: {}", state.file(), e.getMessage());
        }
    }

    /** Writes the state file now (at shutdown). */
    public void flush() {
        if (state != null) {
            savedRevision = -1;
            persist();
        }
    }

    /**
     * A member answers again: its informer lists the truth. Nodes it no longer has (deleted while it could not
     * be reached) leave the snapshot. Recently placed nodes are spared: their pods may not be listed yet.
     */
    private void reconcile(MemberCluster m) {
        java.util.Set<String> present = new java.util.HashSet<>();
        for (WorkerPod p : m.workerPods()) {
            if (p.nodeId() != null && !p.deleting()) {
                present.add(p.nodeId());
            }
        }
        java.time.Instant recent = clock.instant().minusSeconds(60);
        for (NodeRecord r : registry.all()) {
            if (r.member().equals(m.name()) && r.phase() == Phase.POD && !present.contains(r.id())
                    && r.created().isBefore(recent)) {
                LOG.info("node {} is gone from {} (while it could not be reached)", r.id(), m.name());
                metrics.workerLost(m.name(), "gone");
                forget(r.id(), m.name(), r.podName());
            }
        }
    }

    /** Ready once every member has synced or been marked unreachable. */
    public boolean ready() {
        return !starts.isEmpty() && starts.values().stream().allMatch(s -> s.toCompletableFuture().isDone());
    }

    /** Why the sidecar is not ready yet (empty when ready). */
    public List<String> notReadyReasons() {
        List<String> out = new ArrayList<>();
        if (starts.isEmpty()) {
            out.add("members not started");
        }
        starts.forEach((name, s) -> {
            if (!s.toCompletableFuture().isDone()) {
                out.add("member " + name + " has not synced yet");
            }
        });
        return out;
    }

    public Map<String, MemberCluster> members() {
        return members;
    }

    public NodeRegistry registry() {
        return registry;
    }

    public FederationConfig config() {
        return config;
    }

    public WorkerShape shape(String pool, String member) {
        return shapes.getOrDefault(pool, Map.of()).get(member);
    }

    // ---------------------------------------------------------------- create

    /**
     * Creates up to {@code request.count()} workers. A repeated requestId with the same body answers with
     * the first answer (waiting for it if it is still in progress) and creates nothing.
     *
     * @throws dev.rayfederation.sidecar.api.ApiException 409 when the requestId was used with another body
     */
    public CompletionStage<CreateOutcome> create(CreateRequest request) {
        String poolName = config.poolByNodeType(request.nodeType()).map(Pool::name).orElse("");
        RequestLog.Claim claim;
        try {
            claim = requests.claim(request.requestId(), request.hash(), () -> replayFromPods(request));
        } catch (RuntimeException conflict) {
            metrics.createRequest(poolName, "conflict");
            throw conflict;
        }
        if (!claim.first()) {
            metrics.createRequest(poolName, "replay");
            return claim.answer().thenApply(CreateOutcome::asReplay);
        }
        CompletableFuture<CreateOutcome> answer = claim.answer();
        try {
            Plan plan = place(request);
            createPods(plan).whenComplete((outcome, err) -> {
                if (err != null) {
                    requests.forget(request.requestId());
                    metrics.createRequest(poolName, "failed");
                    answer.completeExceptionally(err);
                } else {
                    count(plan, outcome);
                    answer.complete(outcome);
                }
            });
        } catch (RuntimeException e) {
            metrics.createRequest(poolName, "failed");
            requests.forget(request.requestId());
            answer.completeExceptionally(e);
        }
        return answer;
    }

    private void count(Plan plan, CreateOutcome outcome) {
        String pool = plan.pool().name();
        metrics.createRequest(pool, outcome.rejected().count() == 0 ? "created"
                : outcome.created().isEmpty() ? "rejected" : "partial");
        java.util.Set<String> ok = new java.util.HashSet<>(outcome.created());
        Map<String, Integer> byMember = new TreeMap<>();
        for (NodeRecord n : plan.placed()) {
            if (ok.contains(n.id())) {
                byMember.merge(n.member(), 1, Integer::sum);
            }
        }
        byMember.forEach((m, k) -> metrics.placed(pool, m, k));
        if (outcome.rejected().count() > 0) {
            metrics.rejected(pool, outcome.rejected().reason(), outcome.rejected().count());
        }
    }

    /** After a restart the request log is empty: the pods' annotations still tell what a request made. */
    private Optional<RequestLog.Prior> replayFromPods(CreateRequest request) {
        List<NodeRecord> made = registry.byRequestId(request.requestId());
        if (made.isEmpty()) {
            return Optional.empty();
        }
        NodeRecord first = made.get(0);
        List<String> ids = made.stream().map(NodeRecord::id).toList();
        int asked = Math.max(first.requestCount(), ids.size());
        Rejected rejected = asked > ids.size()
                ? new Rejected(asked - ids.size(), "unavailable",
                "answer rebuilt after a sidecar restart: " + ids.size() + " of " + asked + " were created")
                : Rejected.NONE;
        return Optional.of(new RequestLog.Prior(first.requestHash(),
                new CreateOutcome(request.requestId(), ids, rejected, true)));
    }

    private record Plan(CreateRequest request, Pool pool, List<NodeRecord> placed, Rejected rejected) {
    }

    private Plan place(CreateRequest request) {
        Pool pool = config.poolByNodeType(request.nodeType()).orElseThrow();
        synchronized (placementLock) {
            Optional<Rejected> infeasible = infeasible(pool, request.count());
            if (infeasible.isPresent()) {
                return new Plan(request, pool, List.of(), infeasible.get());
            }
            Limit quota = quotaLimit(pool, request.count());
            List<Candidate> candidates = candidates(pool, quota.allowed());
            Map<String, Integer> plan = PlacementPlanner.plan(pool.strategy(), quota.allowed(), candidates);
            List<NodeRecord> placed = register(request, pool, plan);
            return new Plan(request, pool, placed, rejection(request.count(), placed.size(), quota, candidates, pool));
        }
    }

    private Optional<Rejected> infeasible(Pool pool, int count) {
        List<String> why = new ArrayList<>();
        for (String m : pool.clusters()) {
            MemberCluster member = members.get(m);
            WorkerShape shape = shape(pool.name(), m);
            if (member.capacity().couldEverFit(shape)) {
                return Optional.empty();
            }
            why.add(m);
        }
        return Optional.of(new Rejected(count, "infeasible", "no allowed member could ever fit one worker of pool "
                + pool.name() + " (" + pool.resources() + "): none of " + why + " has a node (or static capacity) "
                + "that large matching its node selector and taints"));
    }

    private record Limit(int allowed, String why) {
    }

    private Limit quotaLimit(Pool pool, int count) {
        int allowed = count;
        String why = null;
        int live = registry.countPool(pool.name());
        int byMax = Math.max(0, pool.maxWorkers() - live);
        if (byMax < allowed) {
            allowed = byMax;
            why = "pool " + pool.name() + " has " + live + " of maxWorkers " + pool.maxWorkers();
        }
        ResourceVector quota = config.virtualCluster(pool.virtualCluster()).map(v -> v.quota()).orElse(ResourceVector.EMPTY);
        if (!quota.isEmpty()) {
            ResourceVector used = registry.usage(pool.virtualCluster());
            for (Map.Entry<String, Long> q : quota.milli().entrySet()) {
                long per = pool.resources().get(q.getKey());
                if (per <= 0) {
                    continue;
                }
                long room = Math.max(0, q.getValue() - used.get(q.getKey())) / per;
                if (room < allowed) {
                    allowed = (int) room;
                    why = "virtual cluster " + pool.virtualCluster() + " quota " + q.getKey() + "="
                            + dev.rayfederation.k8s.resources.Quantities.fromMilli(q.getValue()) + " with "
                            + dev.rayfederation.k8s.resources.Quantities.fromMilli(used.get(q.getKey())) + " in use";
                }
            }
        }
        return new Limit(allowed, why);
    }

    private List<Candidate> candidates(Pool pool, int wanted) {
        List<Candidate> out = new ArrayList<>();
        int order = 0;
        for (String m : pool.clusters()) {
            order++;
            MemberCluster member = members.get(m);
            if (!member.acceptsPlacements() || backoff.active(m, pool.name()).isPresent()) {
                continue;
            }
            Cluster cluster = config.cluster(m).orElseThrow();
            WorkerShape shape = shape(pool.name(), m);
            var capacity = member.capacity();
            long capFit = capacity.capFit(shape, registry.memberUsage(m));
            long nodeFit = capacity.nodeFit(shape, registry.unboundReservations(m), Math.max(wanted, 1));
            long freeNow = Math.min(nodeFit, capFit);
            long room = cluster.elastic() ? capFit : freeNow;
            if (member.breaker().state() == dev.rayfederation.k8s.resilience.BreakerStatus.State.HALF_OPEN) {
                // only a few trial calls pass a half-open breaker: send no more workers than that
                long trials = config.resilience().breaker().halfOpenCalls();
                freeNow = Math.min(freeNow, trials);
                room = Math.min(room, trials);
            }
            out.add(new Candidate(m, freeNow, room, cluster.priority(), pricePerWorker(cluster, pool), order));
        }
        return out;
    }

    static Double pricePerWorker(Cluster cluster, Pool pool) {
        if (cluster.price().isEmpty()) {
            return null;
        }
        double sum = 0;
        for (Map.Entry<String, Long> r : pool.resources().milli().entrySet()) {
            Double unitPrice = cluster.price().get(r.getKey());
            if (unitPrice == null) {
                continue;
            }
            double units = r.getValue() / 1000.0;
            if (r.getKey().equals("memory")) {
                units = units / (1L << 30); // price of memory is per GiB-hour
            }
            sum += unitPrice * units;
        }
        return sum;
    }

    private List<NodeRecord> register(CreateRequest request, Pool pool, Map<String, Integer> plan) {
        List<NodeRecord> placed = new ArrayList<>();
        Instant now = Instant.now();
        plan.forEach((member, k) -> {
            for (int i = 0; i < k; i++) {
                String id = NodeIds.mint();
                placed.add(new NodeRecord(id, pool.rayNodeType(), pool.name(), pool.virtualCluster(), member,
                        NodeIds.podName(config.rayCluster().name(), id), maintainedTags(request.tags(), pool, NodeStatus.CREATING),
                        NodeStatus.CREATING, null, null, Phase.CREATING, false, request.requestId(), request.hash(),
                        request.count(), pool.resources(), shape(pool.name(), member), now, null));
            }
        });
        registry.putAll(placed);
        return placed;
    }

    private Map<String, String> maintainedTags(Map<String, String> rayTags, Pool pool, String status) {
        Map<String, String> tags = new TreeMap<>(rayTags);
        tags.putIfAbsent(RayTags.NODE_KIND, "worker");
        tags.putIfAbsent(RayTags.USER_NODE_TYPE, pool.rayNodeType());
        tags.put(RayTags.NODE_STATUS, status);
        return tags;
    }

    private Rejected rejection(int count, int placed, Limit quota, List<Candidate> candidates, Pool pool) {
        int rejected = count - placed;
        if (rejected == 0) {
            return Rejected.NONE;
        }
        if (quota.allowed() < count) {
            return new Rejected(rejected, "quota", rejected + " of " + count + " rejected: " + quota.why());
        }
        List<String> why = new ArrayList<>();
        for (String m : pool.clusters()) {
            MemberCluster member = members.get(m);
            Optional<Candidate> c = candidates.stream().filter(x -> x.member().equals(m)).findFirst();
            Optional<CapacityBackoff.Entry> off = backoff.active(m, pool.name());
            if (off.isPresent()) {
                why.add(m + " backing off until " + off.get().until() + " (" + off.get().reason() + ")");
            } else if (c.isEmpty() && member.breaker().state() == dev.rayfederation.k8s.resilience.BreakerStatus.State.OPEN) {
                why.add(m + " breaker " + member.breaker().scope() + " open since " + member.breaker().since()
                        + (member.breaker().reason() == null ? "" : " (" + member.breaker().reason() + ")"));
            } else if (c.isEmpty()) {
                why.add(m + " " + member.state().wire() + (member.stateReason() == null ? "" : " (" + member.stateReason() + ")"));
            } else {
                why.add(m + " has room for " + c.get().freeNow());
            }
        }
        return new Rejected(rejected, "unavailable", rejected + " of " + count + " rejected: no capacity now: "
                + String.join("; ", why));
    }

    private CompletionStage<CreateOutcome> createPods(Plan plan) {
        List<CompletableFuture<Optional<String>>> all = new ArrayList<>();
        for (NodeRecord node : plan.placed()) {
            all.add(createPod(plan, node).toCompletableFuture());
        }
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).thenApply(v -> {
            List<String> created = new ArrayList<>();
            List<String> failures = new ArrayList<>();
            for (int i = 0; i < all.size(); i++) {
                Optional<String> failure = all.get(i).join();
                if (failure.isEmpty()) {
                    created.add(plan.placed().get(i).id());
                } else {
                    failures.add(failure.get());
                }
            }
            Rejected rejected = plan.rejected();
            if (!failures.isEmpty()) {
                String msg = failures.size() + " pod(s) could not be created: " + failures.get(0);
                rejected = rejected.count() == 0
                        ? new Rejected(failures.size(), "unavailable", msg)
                        : new Rejected(rejected.count() + failures.size(), rejected.reason(), rejected.message() + "; " + msg);
            }
            LOG.info("request {}: {} {} created {} ({}), rejected {}{}", plan.request().requestId(), plan.request().count(),
                    plan.pool().rayNodeType(), created.size(), byMember(plan.placed(), created), rejected.count(),
                    rejected.count() > 0 ? " (" + rejected.reason() + ": " + rejected.message() + ")" : "");
            return new CreateOutcome(plan.request().requestId(), created, rejected, false);
        });
    }

    private static Map<String, Integer> byMember(List<NodeRecord> placed, List<String> created) {
        Map<String, Integer> out = new TreeMap<>();
        java.util.Set<String> ok = new java.util.HashSet<>(created);
        for (NodeRecord n : placed) {
            if (ok.contains(n.id())) {
                out.merge(n.member(), 1, Integer::sum);
            }
        }
        return out;
    }

    /** Completes with empty on success, or a short description of the failure. */
    private CompletionStage<Optional<String>> createPod(Plan plan, NodeRecord node) {
        MemberCluster member = members.get(node.member());
        WorkerPodSpec spec = podSpec(node, plan.pool(), new TreeMap<>(plan.request().tags()));
        return member.createWorker(spec).handle((pod, err) -> {
            if (err == null) {
                created(node, pod);
                return Optional.<String>empty();
            }
            LOG.warn("creating pod {} in {} failed: {}", node.podName(), node.member(), rootMessage(err));
            // The pod may exist even though the call failed (a timeout, or an attempt sent before a breaker
            // refused the retry): always make sure no orphan is left, even if that costs a needless delete.
            registry.update(node.id(), r -> here(r, node) ? r.withPhase(Phase.TERMINATING) : r);
            deleteUntilGone(node, DELETE_RETRY_MIN);
            return Optional.of(node.member() + ": " + rootMessage(err));
        });
    }

    /** Is {@code r} still the node as it was placed in {@code placed}'s member (not re-placed since)? */
    private static boolean here(NodeRecord r, NodeRecord placed) {
        return r.member().equals(placed.member()) && r.podName().equals(placed.podName());
    }

    /** A pod was created for {@code node}: record it, unless the node moved on or was terminated meanwhile. */
    private void created(NodeRecord node, WorkerPod pod) {
        Optional<NodeRecord> now = registry.update(node.id(),
                r -> here(r, node) && r.phase() == Phase.CREATING ? observe(r, pod) : r);
        if (now.isEmpty() || !here(now.get(), node)) {
            members.get(node.member()).deleteWorker(node.podName()); // the node moved on: this pod is an orphan
        } else if (now.get().phase() == Phase.TERMINATING) {
            deleteUntilGone(now.get(), DELETE_RETRY_MIN); // terminated while being created
        }
    }

    /** The pod of {@code node} on its member; {@code rayTags} are the Ray tags to persist on it. */
    private WorkerPodSpec podSpec(NodeRecord node, Pool pool, Map<String, String> rayTags) {
        Cluster cluster = config.cluster(node.member()).orElseThrow();
        return new WorkerPodSpec(node.id(), node.podName(), config.rayCluster().name(), config.rayCluster().headAddress(),
                pool.name(), pool.virtualCluster(), pool.rayNodeType(), cluster.name(), cluster.region(), cluster.zone(),
                pool.resources(), pool.rayResources(), pool.labels(), pool.template(),
                pool.overrides().getOrDefault(cluster.name(), Map.of()), rayTags, node.requestId(),
                node.requestHash(), node.requestCount(), cluster.gpuResourceName());
    }

    private static NodeRecord observe(NodeRecord r, WorkerPod pod) {
        return r.withObserved(NodeStatus.of(pod), pod.podIp(), pod.bound(), NodeStatus.reason(pod));
    }

    // ------------------------------------------------------------ re-placement

    public CapacityBackoff backoff() {
        return backoff;
    }

    /** Moves workers that do not come up to another member, under the same id (DESIGN §6). */
    void checkWorkers() {
        try {
            java.time.Instant now = clock.instant();
            java.util.Set<String> stale = registry.snapshot().staleMembers();
            for (NodeRecord n : registry.all()) {
                if (!n.live() || stale.contains(n.member()) || RayTags.STATUS_UP_TO_DATE.equals(n.status())
                        || RayTags.STATUS_UPDATE_FAILED.equals(n.status())) {
                    continue;
                }
                Duration age = Duration.between(n.created(), now);
                boolean elastic = config.cluster(n.member()).map(Cluster::elastic).orElse(false);
                String why = null;
                if (n.phase() == Phase.CREATING) {
                    if (age.compareTo(policy.creatingTimeout()) > 0) {
                        why = "pod not created within " + policy.creatingTimeout().toSeconds() + "s";
                    }
                } else if (NodeStatus.UNSCHEDULABLE.equals(n.status()) && !elastic
                        && age.compareTo(policy.unschedulableGrace()) > 0) {
                    why = "unschedulable" + (n.reason() == null ? "" : ": " + n.reason());
                } else if (age.compareTo(elastic ? policy.elasticStartTimeout() : policy.startTimeout()) > 0) {
                    why = "not running after " + age.toSeconds() + "s (" + n.status() + ")";
                }
                if (why != null) {
                    replace(n, why);
                }
            }
        } catch (RuntimeException e) {
            LOG.error("checking workers failed", e);
        }
    }

    private void replace(NodeRecord node, String why) {
        Optional<Pool> pool = config.pools().stream().filter(p -> p.name().equals(node.pool())).findFirst();
        if (pool.isEmpty()) {
            return;
        }
        CapacityBackoff.Entry off = backoff.fail(node.member(), node.pool(), why);
        metrics.replaced(node.pool(), node.member());
        NodeRecord moved;
        synchronized (placementLock) {
            NodeRecord current = registry.get(node.id()).orElse(null);
            if (current == null || !here(current, node) || !current.live()) {
                return;
            }
            List<Candidate> others = candidates(pool.get(), 1).stream()
                    .filter(c -> !c.member().equals(node.member())).toList();
            Map<String, Integer> plan = PlacementPlanner.plan(pool.get().strategy(), 1, others);
            if (plan.isEmpty()) {
                LOG.warn("node {} on {} is stuck ({}); no other member has room for pool {} now; {} backs off {}s",
                        node.id(), node.member(), why, node.pool(), node.member(), off.pause().toSeconds());
                registry.update(node.id(), r -> here(r, node) ? withReason(r, why + "; no other member has room") : r);
                return;
            }
            String target = plan.keySet().iterator().next();
            Map<String, String> tags = new TreeMap<>(current.tags());
            tags.put(RayTags.NODE_STATUS, NodeStatus.RE_PLACING);
            moved = new NodeRecord(node.id(), current.nodeType(), current.pool(), current.virtualCluster(), target,
                    NodeIds.podName(config.rayCluster().name(), node.id()), tags, NodeStatus.RE_PLACING, null, null,
                    Phase.CREATING, false, current.requestId(), current.requestHash(), current.requestCount(),
                    current.resources(), shape(current.pool(), target), clock.instant(),
                    "moved from " + node.member() + ": " + why);
            registry.put(moved);
        }
        LOG.info("re-placing node {} from {} to {}: {} ({} backs off {}s for pool {})", node.id(), node.member(),
                moved.member(), why, node.member(), off.pause().toSeconds(), node.pool());
        deletePod(node.member(), node.podName(), DELETE_RETRY_MIN);
        Map<String, String> rayTags = new TreeMap<>(moved.tags());
        rayTags.remove(RayTags.NODE_STATUS);
        WorkerPodSpec spec = podSpec(moved, pool.get(), rayTags);
        members.get(moved.member()).createWorker(spec).whenComplete((pod, err) -> {
            if (err == null) {
                created(moved, pod);
            } else {
                LOG.warn("re-placing node {} on {} failed: {}; will try again", moved.id(), moved.member(), rootMessage(err));
            }
        });
    }

    private static NodeRecord withReason(NodeRecord r, String reason) {
        return new NodeRecord(r.id(), r.nodeType(), r.pool(), r.virtualCluster(), r.member(), r.podName(), r.tags(),
                r.status(), r.internalIp(), r.externalIp(), r.phase(), r.bound(), r.requestId(), r.requestHash(),
                r.requestCount(), r.resources(), r.shape(), r.created(), reason);
    }

    /** Deletes a pod that no node needs any more, retrying until it is gone. */
    private void deletePod(String member, String podName, Duration backoffNow) {
        members.get(member).deleteWorker(podName).whenComplete((deleted, err) -> {
            if (err != null) {
                retryLater(backoffNow, next -> deletePod(member, podName, next));
            }
        });
    }

    /** Runs {@code retry} after {@code pause}, handing it the next (doubled, capped) pause. */
    private void retryLater(Duration pause, java.util.function.Consumer<Duration> retry) {
        Duration doubled = pause.multipliedBy(2);
        Duration next = doubled.compareTo(DELETE_RETRY_MAX) > 0 ? DELETE_RETRY_MAX : doubled;
        scheduler.schedule(() -> retry.accept(next), pause.toMillis(), TimeUnit.MILLISECONDS);
    }

    // ------------------------------------------------------------- terminate

    /** The answer to POST /v1/nodes:terminate. */
    public record TerminateOutcome(List<String> terminating, List<String> unknown) {
    }

    /** Takes the nodes out of the snapshot at once and deletes their pods, retrying until done. */
    public TerminateOutcome terminate(List<String> ids) {
        List<String> terminating = new ArrayList<>();
        List<String> unknown = new ArrayList<>();
        for (String id : ids) {
            Optional<NodeRecord> before = registry.get(id);
            if (before.isEmpty()) {
                if (tombstones.contains(id)) {
                    terminating.add(id); // already gone: terminating it again is a no-op
                } else {
                    unknown.add(id);
                }
                continue;
            }
            terminating.add(id);
            NodeRecord was = before.get();
            registry.update(id, r -> r.withPhase(Phase.TERMINATING));
            if (was.phase() == Phase.POD) {
                deleteUntilGone(was, DELETE_RETRY_MIN);
            }
            // CREATING: the create's completion sees TERMINATING and deletes the pod
        }
        metrics.terminations(terminating.size(), unknown.size());
        if (!terminating.isEmpty()) {
            LOG.info("terminating {} node(s){}", terminating.size(), unknown.isEmpty() ? "" : ", unknown " + unknown);
        }
        return new TerminateOutcome(terminating, unknown);
    }

    private void deleteUntilGone(NodeRecord node, Duration backoff) {
        MemberCluster member = members.get(node.member());
        if (member == null) {
            registry.remove(node.id());
            return;
        }
        member.deleteWorker(node.podName()).whenComplete((deleted, err) -> {
            if (err == null) {
                if (!Boolean.TRUE.equals(deleted)) {
                    forget(node.id(), node.member(), node.podName()); // already gone
                }
                return; // the informer's delete event removes the record
            }
            Optional<NodeRecord> still = registry.get(node.id());
            if (still.isEmpty() || still.get().phase() != Phase.TERMINATING || !still.get().member().equals(node.member())) {
                return;
            }
            LOG.warn("deleting pod {} in {} failed ({}); retrying in {}s", node.podName(), node.member(),
                    rootMessage(err), backoff.toSeconds());
            retryLater(backoff, next -> deleteUntilGone(node, next));
        });
    }

    /** The pod is gone: drop its node unless the node has moved on to another pod (re-placement). */
    private void forget(String id, String member, String podName) {
        boolean[] removed = {false};
        registry.update(id, r -> {
            if (r.member().equals(member) && r.podName().equals(podName)) {
                removed[0] = true;
                return null;
            }
            return r;
        });
        if (removed[0] || registry.get(id).isEmpty()) {
            tombstones.add(id);
        }
    }

    // ------------------------------------------------------------------ tags

    /** Merges tags into a live node's tags and persists them on its pod (best effort, retried by the next call). */
    public NodeRecord setTags(String id, Map<String, String> tags) {
        NodeRecord updated = registry.update(id, r -> {
            if (!r.live()) {
                return r;
            }
            Map<String, String> merged = new TreeMap<>(r.tags());
            merged.putAll(tags);
            merged.put(RayTags.NODE_STATUS, r.status());
            return r.withTags(merged);
        }).filter(NodeRecord::live).orElseThrow(() -> dev.rayfederation.sidecar.api.ApiException.notFound("no node " + id));
        MemberCluster member = members.get(updated.member());
        if (member != null && updated.phase() == Phase.POD) {
            member.updateWorkerTags(updated.podName(), updated.tags()).whenComplete((v, err) -> {
                if (err != null) {
                    LOG.warn("could not persist tags of {} on its pod: {}", id, rootMessage(err));
                }
            });
        }
        return updated;
    }

    // ------------------------------------------------- what the members report

    /** Keeps the registry in step with one member's worker pods (and rebuilds it at start-up). */
    private final class MemberPods implements WorkerPodListener {
        private final String member;

        MemberPods(String member) {
            this.member = member;
        }

        @Override
        public void onUpsert(WorkerPod pod) {
            if (pod.nodeId() == null) {
                return;
            }
            if (tombstones.contains(pod.nodeId())) {
                if (!pod.deleting()) {
                    members.get(member).deleteWorker(pod.podName());
                }
                return;
            }
            Optional<NodeRecord> known = registry.get(pod.nodeId());
            if (known.isEmpty()) {
                if (!pod.deleting()) {
                    registry.put(adopt(pod));
                }
                return;
            }
            NodeRecord rec = known.get();
            if (!rec.member().equals(member) || !rec.podName().equals(pod.podName())) {
                if (rec.phase() == Phase.POD && !pod.deleting()) {
                    LOG.warn("node {} has a second pod {} in {} (known in {}); deleting the second",
                            pod.nodeId(), pod.podName(), member, rec.member());
                    members.get(member).deleteWorker(pod.podName());
                }
                return;
            }
            if (pod.deleting()) {
                // deleted or evicted by someone else, or our own delete in progress: Ray must see it gone
                if (rec.live()) {
                    lost(rec, pod.condition() == WorkerPod.Condition.EVICTED ? "evicted" : "deleted");
                }
                registry.update(rec.id(), r -> r.withPhase(Phase.TERMINATING));
                return;
            }
            Optional<NodeRecord> now = registry.update(rec.id(), r -> r.phase() == Phase.TERMINATING ? r : observe(r, pod));
            if (now.isPresent() && RayTags.STATUS_UP_TO_DATE.equals(now.get().status())
                    && !RayTags.STATUS_UP_TO_DATE.equals(rec.status())) {
                backoff.succeed(member, rec.pool());
            }
            if (now.isPresent() && RayTags.STATUS_UPDATE_FAILED.equals(now.get().status())
                    && !RayTags.STATUS_UPDATE_FAILED.equals(rec.status())) {
                lost(rec, pod.condition() == WorkerPod.Condition.EVICTED ? "evicted" : "failed");
            }
        }

        @Override
        public void onDelete(WorkerPod pod) {
            if (pod.nodeId() != null) {
                registry.get(pod.nodeId()).filter(r -> r.live() && r.member().equals(member))
                        .ifPresent(r -> lost(r, "deleted"));
                forget(pod.nodeId(), member, pod.podName());
            }
        }

        /**
         * A worker went away (or failed) without Ray asking: count it, and let the (member, pool) pair back off so
         * replacements avoid a member that is preempting or evicting (spot reclaim, node drain) for a while.
         */
        private void lost(NodeRecord rec, String reason) {
            metrics.workerLost(member, reason);
            CapacityBackoff.Entry e = backoff.fail(member, rec.pool(), "worker " + reason);
            LOG.info("node {} of pool {} on {}: {} without Ray asking; {} backs off {}s for that pool",
                    rec.id(), rec.pool(), member, reason, member, e.pause().toSeconds());
        }

        /** A pod found in a member that the registry does not know: rebuild its node from the pod. */
        private NodeRecord adopt(WorkerPod pod) {
            Optional<Pool> pool = config.pools().stream().filter(p -> p.name().equals(pod.pool())).findFirst();
            ResourceVector resources = pool.map(Pool::resources).orElse(pod.requests());
            WorkerShape shape = pool.map(p -> shape(p.name(), member)).orElse(null);
            if (shape == null) {
                shape = WorkerShape.of(pod.requests());
            }
            String nodeType = pod.rayNodeType() != null ? pod.rayNodeType() : pool.map(Pool::rayNodeType).orElse("unknown");
            Map<String, String> tags = new TreeMap<>(pod.tags());
            tags.putIfAbsent(RayTags.NODE_KIND, "worker");
            tags.putIfAbsent(RayTags.USER_NODE_TYPE, nodeType);
            String status = NodeStatus.of(pod);
            tags.put(RayTags.NODE_STATUS, status);
            return new NodeRecord(pod.nodeId(), nodeType, pod.pool() == null ? "unknown" : pod.pool(),
                    pod.virtualCluster() == null ? "unknown" : pod.virtualCluster(), member, pod.podName(), tags, status,
                    pod.podIp(), null, Phase.POD, pod.bound(), pod.requestId(), pod.requestHash(), pod.requestCount(),
                    resources, shape, pod.created() == null ? Instant.now() : pod.created(), NodeStatus.reason(pod));
        }
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while ((t instanceof java.util.concurrent.CompletionException || t instanceof java.util.concurrent.ExecutionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        String msg = t.getMessage();
        return msg == null ? t.getClass().getSimpleName() : msg;
    }

    /** Ids of nodes terminated (or seen deleted) recently, so late informer events cannot bring them back. */
    static final class Tombstones {
        private final Map<String, Boolean> ids;

        Tombstones(int max) {
            this.ids = Collections.synchronizedMap(new LinkedHashMap<>(1024, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                    return size() > max;
                }
            });
        }

        void add(String id) {
            ids.put(id, Boolean.TRUE);
        }

        boolean contains(String id) {
            return ids.containsKey(id);
        }
    }
}
