package dev.rayfederation.sidecar.antray;

import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import dev.rayfederation.sidecar.registry.RayTags;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Keeps ant-ray's virtual clusters in step with the workers the sidecar placed for each of ours, so that Ray
 * itself confines a tenant's tasks to its own workers.
 *
 * <p>Growing: a worker counts for its virtual cluster once it is {@code up-to-date} (its pod Running and Ready: the
 * raylet is up); the replica sets then ask ant-ray for that many nodes of its node type, and ant-ray moves idle nodes
 * of the primary cluster in. When it has fewer idle nodes than asked ("No enough nodes"), the sync asks for as many
 * as it can move now and tries again later. Shrinking: a terminated worker's pod is deleted only after the virtual
 * cluster was asked for one node fewer and ant-ray let one go (or after {@code shrinkWait}), so the deletion does not
 * pull a node out from under ant-ray's bookkeeping. ant-ray picks which idle node leaves; when it keeps the dying
 * one, it replaces it from the primary cluster once it is gone.
 *
 * <p>Every update builds on the last revision ant-ray gave; an expired revision is replaced by the latest one and
 * the update sent again. Failures back off (retryInterval, doubling up to 30 s); the state is posted again every
 * {@value #RESYNC_SECONDS} s even when nothing changed (ant-ray may have been restarted). One thread does it all.
 */
public final class AntRaySync implements WorkerMembership {

    private static final Logger LOG = LoggerFactory.getLogger(AntRaySync.class);
    static final Duration TICK = Duration.ofMillis(500);
    static final int RESYNC_SECONDS = 10;
    static final Duration RESYNC = Duration.ofSeconds(RESYNC_SECONDS);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    /** Updates sent in one tick: an expired revision or a partial answer each cost one more. */
    private static final int ATTEMPTS = 4;

    private final FederationConfig config;
    private final NodeRegistry registry;
    private final AntRayDashboard dashboard;
    private final FederationMetrics metrics;
    private final Clock clock;
    private final Duration retry;
    private final Duration shrinkWait;
    private final Map<String, VcState> states = new LinkedHashMap<>();
    private final Map<String, Status> published = new ConcurrentHashMap<>();
    private ScheduledExecutorService executor;

    public AntRaySync(FederationConfig config, NodeRegistry registry, AntRayDashboard dashboard, FederationMetrics metrics,
                      Clock clock) {
        this.config = config;
        this.registry = registry;
        this.dashboard = dashboard;
        this.metrics = metrics;
        this.clock = clock;
        this.retry = config.antRay().retryInterval();
        this.shrinkWait = config.antRay().shrinkWait();
        for (FederationConfig.VirtualCluster vc : config.virtualClusters()) {
            VcState s = new VcState(vc.name(), vc.antRay().id(), vc.antRay().divisible());
            states.put(vc.name(), s);
            publish(s, Map.of());
        }
    }

    /** The sync for this config, or empty when the ant-ray integration is off. */
    public static Optional<AntRaySync> of(FederationConfig config, NodeRegistry registry, FederationMetrics metrics, Clock clock) {
        if (!config.antRay().enabled()) {
            return Optional.empty();
        }
        AntRayDashboard dashboard = new AntRayDashboard(config.antRay().dashboardUrl(), config.antRay().requestTimeout());
        return Optional.of(new AntRaySync(config, registry, dashboard, metrics, clock));
    }

    public synchronized void start() {
        if (executor != null) {
            return;
        }
        executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ray-federation-antray");
            t.setDaemon(true);
            return t;
        });
        executor.scheduleWithFixedDelay(this::tickSafely, 0, TICK.toMillis(), TimeUnit.MILLISECONDS);
        LOG.info("ant-ray: keeping virtual clusters {} in step through {}", states.values().stream().map(s -> s.id).toList(),
                config.antRay().dashboardUrl());
    }

    public synchronized void stop() {
        if (executor != null) {
            executor.shutdownNow();
            executor = null;
        }
    }

    /** ant-ray's view of each virtual cluster, by our name, as of the last tick. */
    public Map<String, Status> status() {
        Map<String, Status> out = new LinkedHashMap<>();
        for (String name : states.keySet()) {
            out.put(name, published.get(name));
        }
        return out;
    }

    /** Deletes once ant-ray let go of a node of this worker's type (or after shrinkWait); see the class comment. */
    @Override
    public void beforeDelete(NodeRecord node, Runnable delete) {
        ScheduledExecutorService ex;
        synchronized (this) {
            ex = executor;
        }
        VcState s = states.get(node.virtualCluster());
        if (ex == null || s == null) {
            delete.run();
            return;
        }
        Waiter w = new Waiter(node.id(), node.nodeType(), clock.instant().plus(shrinkWait), delete);
        try {
            ex.execute(() -> {
                s.waiters.add(w);
                tickSafely();
            });
        } catch (RuntimeException rejected) {
            delete.run();
        }
    }

    private void tickSafely() {
        try {
            tick();
        } catch (RuntimeException e) {
            LOG.warn("ant-ray: sync failed unexpectedly", e);
        }
    }

    void tick() {
        Map<String, Map<String, Integer>> wanted = wanted();
        for (VcState s : states.values()) {
            Map<String, Integer> target = wanted.getOrDefault(s.name, Map.of());
            Instant now = clock.instant();
            boolean differs = s.applied == null || !s.applied.equals(target);
            boolean due = differs || s.lastPost == null || !now.isBefore(s.lastPost.plus(RESYNC));
            if (due && !now.isBefore(s.nextAttempt)) {
                sync(s, target);
            }
            release(s, target);
            publish(s, target);
        }
    }

    /** Per virtual cluster: node type → live workers Ray reports up to date (every pool's type present, maybe 0). */
    private Map<String, Map<String, Integer>> wanted() {
        Map<String, Map<String, Integer>> out = new LinkedHashMap<>();
        Map<String, FederationConfig.Pool> pools = new LinkedHashMap<>();
        for (FederationConfig.Pool p : config.pools()) {
            pools.put(p.name(), p);
            out.computeIfAbsent(p.virtualCluster(), k -> new TreeMap<>()).put(p.rayNodeType(), 0);
        }
        for (NodeRecord r : registry.all()) {
            FederationConfig.Pool p = pools.get(r.pool());
            if (p != null && r.live() && RayTags.STATUS_UP_TO_DATE.equals(r.status())) {
                out.get(p.virtualCluster()).merge(p.rayNodeType(), 1, Integer::sum);
            }
        }
        return out;
    }

    private void sync(VcState s, Map<String, Integer> target) {
        Map<String, Integer> ask = target;
        Instant now = clock.instant();
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            AntRayDashboard.Answer answer;
            try {
                answer = dashboard.createOrUpdate(s.id, s.divisible, ask, s.revision == null ? 0 : s.revision);
            } catch (AntRayDashboard.Unreachable e) {
                failed(s, "dashboard unreachable: " + e.getMessage());
                return;
            }
            s.lastPost = now;
            if (answer.ok()) {
                boolean first = s.applied == null;
                s.revision = answer.revision();
                s.nodes = answer.nodesByTemplate();
                if (!Objects.equals(s.applied, ask)) {
                    LOG.info("ant-ray: virtual cluster {} {} with replica sets {} (nodes {})", s.id, first ? "in step" : "updated",
                            ask, s.nodes);
                }
                s.applied = ask;
                s.lastSyncAt = now;
                s.failures = 0;
                if (ask.equals(target)) {
                    s.lastError = null;
                    s.nextAttempt = now;
                } else {
                    s.nextAttempt = now.plus(retry); // partial: ask for the rest later
                }
                return;
            }
            if (answer.expired()) {
                Long latest = answer.expiredLatest() != null ? answer.expiredLatest() : listedRevision(s);
                if (latest == null) {
                    failed(s, "revision expired and the latest one is unknown: " + answer.message());
                    return;
                }
                s.revision = latest;
                continue;
            }
            if (!answer.notEnoughNodes()) {
                s.revision = null; // start again from what ant-ray lists
                failed(s, "refused: " + answer.message());
                return;
            }
            // too few idle nodes to move yet (workers still joining Ray, or busy): ask for what it can do now
            Map<String, Integer> partial = answer.reachable(ask, held(s));
            s.lastError = "waiting for idle nodes: ant-ray can move at most " + answer.recommended() + " towards " + target;
            if (partial.equals(ask) || partial.equals(s.applied)) {
                s.nextAttempt = now.plus(retry);
                return;
            }
            ask = partial;
        }
        s.nextAttempt = now.plus(retry);
    }

    /** The replica sets ant-ray holds for this virtual cluster: the last ones it accepted, or as it lists them. */
    private Map<String, Integer> held(VcState s) {
        if (s.applied != null) {
            return s.applied;
        }
        try {
            Map<String, Integer> listed = new TreeMap<>();
            dashboard.get(s.id).ifPresent(l -> l.nodeTemplates().values().forEach(t -> listed.merge(t, 1, Integer::sum)));
            return listed;
        } catch (AntRayDashboard.Unreachable e) {
            return Map.of();
        }
    }

    private Long listedRevision(VcState s) {
        try {
            return dashboard.get(s.id).map(AntRayDashboard.Listed::revision).orElse(null);
        } catch (AntRayDashboard.Unreachable e) {
            return null;
        }
    }

    private void failed(VcState s, String why) {
        s.failures++;
        Duration wait = retry.multipliedBy(1L << Math.min(s.failures - 1, 10));
        if (wait.compareTo(MAX_BACKOFF) > 0) {
            wait = MAX_BACKOFF;
        }
        s.nextAttempt = clock.instant().plus(wait);
        if (!why.equals(s.lastError)) {
            LOG.warn("ant-ray: virtual cluster {}: {} (retrying in {} ms)", s.id, why, wait.toMillis());
        }
        s.lastError = why;
        metrics.antRayError(s.name);
    }

    /** Deletes the waiting workers whose node type ant-ray now holds no more of than wanted, or whose wait is over. */
    private void release(VcState s, Map<String, Integer> target) {
        Instant now = clock.instant();
        for (Iterator<Waiter> it = s.waiters.iterator(); it.hasNext(); ) {
            Waiter w = it.next();
            int held = s.applied == null ? 0 : s.applied.getOrDefault(w.template, 0);
            boolean left = held <= target.getOrDefault(w.template, 0);
            if (!left && now.isBefore(w.deadline)) {
                continue;
            }
            if (!left) {
                LOG.warn("ant-ray: deleting worker {} before it left virtual cluster {} (waited {} ms): {}", w.nodeId, s.id,
                        shrinkWait.toMillis(), s.lastError);
            }
            it.remove();
            try {
                w.delete.run();
            } catch (RuntimeException e) {
                LOG.warn("ant-ray: deleting worker {} failed to start", w.nodeId, e);
            }
        }
    }

    private void publish(VcState s, Map<String, Integer> target) {
        Map<String, Integer> applied = s.applied == null ? Map.of() : s.applied;
        int pending = 0;
        for (String t : union(target, applied)) {
            pending += Math.abs(target.getOrDefault(t, 0) - applied.getOrDefault(t, 0));
        }
        int nodes = s.nodes.values().stream().mapToInt(Integer::intValue).sum();
        published.put(s.name, new Status(s.id, nodes, Map.copyOf(s.nodes), pending, s.lastError, s.lastSyncAt));
    }

    private static List<String> union(Map<String, Integer> a, Map<String, Integer> b) {
        List<String> out = new ArrayList<>(a.keySet());
        b.keySet().stream().filter(k -> !a.containsKey(k)).forEach(out::add);
        return out;
    }

    /**
     * One virtual cluster as ant-ray last answered.
     *
     * @param nodes           nodes it holds
     * @param nodesByTemplate of them, per node type
     * @param pendingMoves    workers still to move in or out
     * @param lastError       why the last update failed or waits; null when in step
     * @param lastSyncAt      when ant-ray last accepted an update; null: never
     */
    public record Status(String id, int nodes, Map<String, Integer> nodesByTemplate, int pendingMoves, String lastError,
                         Instant lastSyncAt) {
    }

    /** Touched only on the sync's thread. */
    private static final class VcState {
        final String name;
        final String id;
        final boolean divisible;
        Long revision;
        Map<String, Integer> applied;
        Map<String, Integer> nodes = Map.of();
        String lastError;
        Instant lastSyncAt;
        Instant lastPost;
        Instant nextAttempt = Instant.EPOCH;
        int failures;
        final List<Waiter> waiters = new ArrayList<>();

        VcState(String name, String id, boolean divisible) {
            this.name = name;
            this.id = id;
            this.divisible = divisible;
        }
    }

    private record Waiter(String nodeId, String template, Instant deadline, Runnable delete) {
    }
}
