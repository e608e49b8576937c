package dev.rayfederation.sidecar.provision;

import dev.rayfederation.sidecar.config.CurrentConfig;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;
import dev.rayfederation.sidecar.decisions.DecisionLog;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.placement.Placement;
import dev.rayfederation.sidecar.placement.Rejection;
import dev.rayfederation.sidecar.placement.WorkerShapes;
import dev.rayfederation.sidecar.registry.NodeIds;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRecord.Phase;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import dev.rayfederation.sidecar.registry.NodeStatus;
import dev.rayfederation.sidecar.registry.RayTags;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * Turns a create request into workers: answers a replayed requestId with its first answer, places the workers
 * (decision and registration under the placement lock, so quotas and maxWorkers hold under concurrency), creates
 * their pods in parallel outside the lock, and answers once every pod exists or failed, or at the create deadline
 * ({@code resilience.create.deadline}, inside the plugin's timeout): pods not confirmed by then are answered as
 * created and listed as pending, never as rejected (they may run). Every outcome is recorded in the decision log.
 */
public final class NodeCreator {

    private static final Logger LOG = LoggerFactory.getLogger(NodeCreator.class);

    private final CurrentConfig config;
    private final NodeRegistry registry;
    private final Placement placement;
    private final WorkerShapes shapes;
    private final PodLauncher launcher;
    private final FederationMetrics metrics;
    private final Clock clock;
    private final RequestLog requests = new RequestLog(10_000);
    private final DecisionLog decisions;

    public NodeCreator(CurrentConfig config, NodeRegistry registry, Placement placement, WorkerShapes shapes,
                       PodLauncher launcher, FederationMetrics metrics, Clock clock, DecisionLog decisions) {
        this.decisions = decisions;
        this.config = config;
        this.registry = registry;
        this.placement = placement;
        this.shapes = shapes;
        this.launcher = launcher;
        this.metrics = metrics;
        this.clock = clock;
    }

    /**
     * Creates up to {@code request.count()} workers. A repeated requestId with the same body answers with the
     * first answer (waiting for it if it is still in progress) and creates nothing.
     *
     * @throws RequestConflictException when the requestId was used with another body
     */
    public CompletionStage<CreateOutcome> create(CreateRequest request) {
        String poolName = config.get().poolByNodeType(request.nodeType()).map(Pool::name).orElse("");
        RequestLog.Claim claim;
        try {
            claim = requests.claim(request.requestId(), request.hash(), () -> replayFromPods(request));
        } catch (RequestConflictException conflict) {
            metrics.createRequest(poolName, "conflict");
            throw conflict;
        }
        if (!claim.first()) {
            metrics.createRequest(poolName, "replay");
            return claim.answer().thenApply(CreateOutcome::asReplay);
        }
        CompletableFuture<CreateOutcome> answer = claim.answer();
        long deadline = System.nanoTime() + config.get().resilience().create().deadline().toNanos();
        try {
            Placed placed = place(request);
            launch(placed, deadline).whenComplete((outcome, err) -> {
                if (err != null) {
                    requests.forget(request.requestId());
                    metrics.createRequest(poolName, "failed");
                    answer.completeExceptionally(err);
                } else {
                    count(placed, outcome);
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

    /**
     * The nodes a request placed (in the registry, pods not yet created), what it rejected up front and which
     * members the network preflight kept out (null: none).
     */
    private record Placed(CreateRequest request, Pool pool, List<NodeRecord> nodes, Rejection rejected, String leftOut) {
    }

    private Placed place(CreateRequest request) {
        synchronized (placement.lock()) {
            // read under the lock: a reload swaps the configuration under it, so the pool's limits are the ones in force
            Pool pool = config.get().poolByNodeType(request.nodeType()).orElseThrow(() -> new IllegalStateException(
                    "node type " + request.nodeType() + " is no longer in the configuration (removed by a reload)"));
            Placement.Decision decision = placement.decide(pool, request.count());
            List<NodeRecord> nodes = register(request, pool, decision.plan());
            return new Placed(request, pool, nodes, decision.rejection(), decision.leftOut());
        }
    }

    private List<NodeRecord> register(CreateRequest request, Pool pool, Map<String, Integer> plan) {
        List<NodeRecord> placed = new ArrayList<>();
        Instant now = clock.instant();
        Map<String, String> tags = new TreeMap<>(request.tags());
        tags.putIfAbsent(RayTags.NODE_KIND, "worker");
        tags.putIfAbsent(RayTags.USER_NODE_TYPE, pool.rayNodeType());
        plan.forEach((member, k) -> {
            for (int i = 0; i < k; i++) {
                String id = NodeIds.mint();
                placed.add(NodeRecord.builder().id(id).nodeType(pool.rayNodeType()).pool(pool.name())
                        .virtualCluster(pool.virtualCluster()).member(member)
                        .podName(NodeIds.podName(config.get().rayCluster().name(), id)).tags(tags)
                        .status(NodeStatus.CREATING).phase(Phase.CREATING).requestId(request.requestId())
                        .requestHash(request.hash()).requestCount(request.count()).resources(pool.resources())
                        .shape(shapes.of(pool.name(), member)).created(now).build());
            }
        });
        registry.putAll(placed);
        return placed;
    }

    private CompletionStage<CreateOutcome> launch(Placed placed, long deadline) {
        List<CompletableFuture<PodLauncher.Launched>> all = new ArrayList<>();
        Duration attempt = config.get().resilience().create().attemptTimeout();
        for (NodeRecord node : placed.nodes()) {
            all.add(launcher.launch(node, placed.pool(), new TreeMap<>(placed.request().tags()), attempt, deadline)
                    .toCompletableFuture()
                    // still under way at the deadline: answered as pending (the launch goes on and settles the node)
                    .completeOnTimeout(PodLauncher.Launched.UNKNOWN, Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
        }
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).thenApply(v -> {
            List<String> created = new ArrayList<>();
            List<String> pending = new ArrayList<>();
            List<String> failures = new ArrayList<>();
            for (int i = 0; i < all.size(); i++) {
                PodLauncher.Launched launched = all.get(i).join();
                if (launched.failure() == null) {
                    created.add(placed.nodes().get(i).id());
                    if (launched.unknown()) {
                        pending.add(placed.nodes().get(i).id());
                    }
                } else {
                    failures.add(launched.failure());
                }
            }
            Rejection rejected = failures.isEmpty() ? placed.rejected() : placed.rejected().plus(failures.size(),
                    "unavailable", failures.size() + " pod(s) could not be created: " + failures.get(0));
            LOG.info("request {}: {} {} created {} ({}){}, rejected {}{}", placed.request().requestId(),
                    placed.request().count(), placed.pool().rayNodeType(), created.size(),
                    byMember(placed.nodes(), created), pending.isEmpty() ? "" : ", of which pending " + pending.size(),
                    rejected.count(), rejected.count() > 0 ? " (" + rejected.reason() + ": " + rejected.message() + ")" : "");
            return new CreateOutcome(placed.request().requestId(), created, rejected, false, pending);
        });
    }

    private void count(Placed placed, CreateOutcome outcome) {
        String pool = placed.pool().name();
        // where the nodes are now: a node its first member refused has moved to another (and is logged there)
        List<NodeRecord> now = placed.nodes().stream().map(n -> registry.get(n.id()).orElse(n)).toList();
        decisions.created(pool, placed.pool().rayNodeType(), placed.pool().strategy().name(), placed.request().count(),
                now, outcome.created(), outcome.rejected().count(), outcome.rejected().reason(),
                outcome.rejected().message(), placed.leftOut());
        metrics.createRequest(pool, outcome.rejected().count() == 0 ? "created"
                : outcome.created().isEmpty() ? "rejected" : "partial");
        byMember(placed.nodes(), outcome.created()).forEach((m, k) -> metrics.placed(pool, m, k));
        if (outcome.rejected().count() > 0) {
            metrics.rejected(pool, outcome.rejected().reason(), outcome.rejected().count());
        }
    }

    /** Created nodes per member, where they are now (a node of unknown fate may have moved). */
    private Map<String, Integer> byMember(List<NodeRecord> placed, List<String> created) {
        Map<String, Integer> out = new TreeMap<>();
        Set<String> ok = new HashSet<>(created);
        for (NodeRecord n : placed) {
            if (ok.contains(n.id())) {
                out.merge(registry.get(n.id()).map(NodeRecord::member).orElse(n.member()), 1, Integer::sum);
            }
        }
        return out;
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
        Rejection rejected = asked > ids.size()
                ? new Rejection(asked - ids.size(), "unavailable",
                "answer rebuilt after a sidecar restart: " + ids.size() + " of " + asked + " were created")
                : Rejection.NONE;
        return Optional.of(new RequestLog.Prior(first.requestHash(),
                new CreateOutcome(request.requestId(), ids, rejected, true)));
    }
}
