package dev.rayfederation.sidecar.provision;

import dev.rayfederation.sidecar.config.CurrentConfig;
import dev.rayfederation.sidecar.decisions.DecisionLog;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.Cluster;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;
import dev.rayfederation.sidecar.config.FederationConfig.Replacement;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.placement.CapacityBackoff;
import dev.rayfederation.sidecar.placement.Placement;
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
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Moves workers that do not come up (unschedulable past a grace period, not running within a timeout, pod never
 * created) to another member under the same id, and lets their (member, pool) pair back off.
 *
 * <p>A worker that cannot be moved now (no other member has room) is tried again only when its pair's back-off
 * ends: it keeps the reason it first got stuck for, each failed attempt grows the back-off once, and only a move
 * that happened counts as a re-placement.
 */
public final class Replacer {

    private static final Logger LOG = LoggerFactory.getLogger(Replacer.class);
    static final String NO_ROOM = "no other member has room";

    private final CurrentConfig config;
    private final NodeRegistry registry;
    private final Placement placement;
    private final WorkerShapes shapes;
    private final CapacityBackoff backoff;
    private final PodLauncher launcher;
    private final PodDeleter deleter;
    private final FederationMetrics metrics;
    private final Clock clock;
    private final DecisionLog decisions;

    /** A worker that could not be moved: why it got stuck, on which member, and when to try again. */
    private record Stuck(String member, String why, Instant nextAttempt) {
    }

    private final Map<String, Stuck> stuck = new ConcurrentHashMap<>();

    public Replacer(CurrentConfig config, NodeRegistry registry, Placement placement, WorkerShapes shapes,
                    CapacityBackoff backoff, PodLauncher launcher, PodDeleter deleter, FederationMetrics metrics,
                    Clock clock, DecisionLog decisions) {
        this.decisions = decisions;
        this.config = config;
        this.registry = registry;
        this.placement = placement;
        this.shapes = shapes;
        this.backoff = backoff;
        this.launcher = launcher;
        this.deleter = deleter;
        this.metrics = metrics;
        this.clock = clock;
    }

    /** Checks workers every {@code replacement.checkInterval}. */
    public void start(ScheduledExecutorService scheduler) {
        long every = config.get().replacement().checkInterval().toMillis();
        scheduler.scheduleWithFixedDelay(this::checkWorkers, every, every, TimeUnit.MILLISECONDS);
    }

    void checkWorkers() {
        try {
            Instant now = clock.instant();
            FederationConfig cfg = config.get(); // read once: a check looks at every worker
            Set<String> staleMembers = registry.snapshot().staleMembers();
            Set<String> stillStuck = new HashSet<>();
            for (NodeRecord n : registry.all()) {
                if (!n.live() || staleMembers.contains(n.member()) || RayTags.STATUS_UP_TO_DATE.equals(n.status())
                        || RayTags.STATUS_UPDATE_FAILED.equals(n.status())
                        || NodeStatus.OUTCOME_UNKNOWN.equals(n.status())) { // settled by UnknownFates, not moved
                    continue;
                }
                String why = whyStuck(cfg, n, now);
                if (why == null) {
                    continue;
                }
                stillStuck.add(n.id());
                Stuck before = stuck.get(n.id());
                if (before != null && before.member().equals(n.member())) {
                    if (now.isBefore(before.nextAttempt())) {
                        continue;
                    }
                    why = before.why(); // the first reason, not one built from our own notes
                }
                replace(n, why);
            }
            stuck.keySet().retainAll(stillStuck);
        } catch (RuntimeException e) {
            LOG.error("checking workers failed", e);
        }
    }

    /** Why the node must move now, or null. */
    private String whyStuck(FederationConfig cfg, NodeRecord n, Instant now) {
        Duration age = Duration.between(n.created(), now);
        Replacement policy = cfg.replacement();
        boolean elastic = cfg.cluster(n.member()).map(Cluster::elastic).orElse(false);
        if (n.phase() == Phase.CREATING) {
            return age.compareTo(policy.creatingTimeout()) > 0
                    ? "pod not created within " + policy.creatingTimeout().toSeconds() + "s" : null;
        }
        if (NodeStatus.UNSCHEDULABLE.equals(n.status()) && !elastic
                && age.compareTo(policy.unschedulableGrace()) > 0) {
            return "unschedulable" + (n.reason() == null ? "" : ": " + n.reason());
        }
        if (age.compareTo(elastic ? policy.elasticStartTimeout() : policy.startTimeout()) > 0) {
            return "not running after " + age.toSeconds() + "s (" + n.status() + ")";
        }
        return null;
    }

    private Optional<Pool> pool(NodeRecord node) {
        return config.get().pools().stream().filter(p -> p.name().equals(node.pool())).findFirst();
    }

    private void replace(NodeRecord node, String why) {
        if (pool(node).isEmpty()) {
            return;
        }
        CapacityBackoff.Entry off = backoff.fail(node.member(), node.pool(), why);
        NodeRecord moved;
        Optional<Pool> pool;
        synchronized (placement.lock()) {
            pool = pool(node); // again under the lock: the one a reload may have changed meanwhile
            NodeRecord current = registry.get(node.id()).orElse(null);
            if (pool.isEmpty() || current == null || !current.samePodAs(node) || !current.live()) {
                return;
            }
            Optional<String> target = placement.elsewhere(pool.get(), node.member());
            if (target.isEmpty()) {
                stuck.put(node.id(), new Stuck(node.member(), why, clock.instant().plus(off.pause())));
                LOG.warn("node {} on {} is stuck ({}); {} for pool {} now; {} backs off {}s (attempt {})",
                        node.id(), node.member(), why, NO_ROOM, node.pool(), node.member(), off.pause().toSeconds(),
                        off.failures());
                registry.update(node.id(), r -> r.samePodAs(node) ? r.withReason(why + "; " + NO_ROOM) : r);
                return;
            }
            moved = current.movedTo(target.get(), NodeIds.podName(config.get().rayCluster().name(), node.id()),
                    shapes.of(current.pool(), target.get()), clock.instant(), "moved from " + node.member() + ": " + why);
            registry.put(moved);
        }
        stuck.remove(node.id());
        metrics.replaced(node.pool(), node.member());
        decisions.replaced(node, moved.member(), why);
        LOG.info("re-placing node {} from {} to {}: {} ({} backs off {}s for pool {})", node.id(), node.member(),
                moved.member(), why, node.member(), off.pause().toSeconds(), node.pool());
        deleter.deleteOrphan(node.member(), node.podName());
        Map<String, String> rayTags = new TreeMap<>(moved.tags());
        rayTags.remove(RayTags.NODE_STATUS);
        launcher.relaunch(moved, pool.get(), rayTags);
    }
}
