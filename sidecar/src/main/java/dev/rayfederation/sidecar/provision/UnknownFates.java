package dev.rayfederation.sidecar.provision;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.member.WorkerPod;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import dev.rayfederation.sidecar.registry.NodeStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Settles the creates whose outcome is unknown ({@link NodeStatus#OUTCOME_UNKNOWN}): sent, never answered. Every
 * second, for each such node: when its member lists the pod, the node is adopted (it goes on like any created
 * worker); when its member has answered for {@link #CONFIRM_AFTER} (placeable that long, so its informer has
 * relisted) and the node is that old too, and still no pod shows, the create never happened and the node is
 * forgotten (Ray sees it gone and asks again). Until then the node stays listed, so Ray never launches a second
 * worker in its place while the first may be running.
 */
public final class UnknownFates {

    private static final Logger LOG = LoggerFactory.getLogger(UnknownFates.class);
    static final Duration CONFIRM_AFTER = Duration.ofSeconds(10);
    static final Duration CHECK_EVERY = Duration.ofSeconds(1);

    private final Map<String, MemberCluster> members;
    private final NodeRegistry registry;
    private final FederationMetrics metrics;
    private final Clock clock;

    public UnknownFates(Map<String, MemberCluster> members, NodeRegistry registry, FederationMetrics metrics, Clock clock) {
        this.members = members;
        this.registry = registry;
        this.metrics = metrics;
        this.clock = clock;
    }

    public void start(ScheduledExecutorService scheduler) {
        scheduler.scheduleWithFixedDelay(this::settle, CHECK_EVERY.toMillis(), CHECK_EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }

    void settle() {
        try {
            Instant now = clock.instant();
            for (NodeRecord n : registry.all()) {
                if (n.phase() == NodeRecord.Phase.CREATING && NodeStatus.OUTCOME_UNKNOWN.equals(n.status())) {
                    settle(n, now);
                }
            }
        } catch (RuntimeException e) {
            LOG.error("settling creates of unknown outcome failed", e);
        }
    }

    private void settle(NodeRecord n, Instant now) {
        MemberCluster member = members.get(n.member());
        if (member == null) {
            forget(n, "its member " + n.member() + " is no longer configured");
            return;
        }
        Optional<WorkerPod> pod = member.workerPods().stream()
                .filter(p -> n.id().equals(p.nodeId()) && n.podName().equals(p.podName()) && !p.deleting())
                .findFirst();
        if (pod.isPresent()) {
            LOG.info("node {}: {} has its pod {} after all; adopted", n.id(), n.member(), n.podName());
            registry.update(n.id(), r -> r.samePodAs(n) && r.phase() == NodeRecord.Phase.CREATING ? NodeStatus.observe(r, pod.get()) : r);
            return;
        }
        Instant since = member.stateSince();
        boolean answering = member.state().placeable() && since != null
                && Duration.between(since, now).compareTo(CONFIRM_AFTER) >= 0
                && Duration.between(n.created(), now).compareTo(CONFIRM_AFTER) >= 0;
        if (answering) {
            forget(n, n.member() + " has answered for " + CONFIRM_AFTER.toSeconds() + "s and has no pod " + n.podName());
        }
    }

    private void forget(NodeRecord n, String why) {
        LOG.warn("node {}: its create never happened ({}); forgotten, Ray sees it gone", n.id(), why);
        registry.forget(n.id(), n.member(), n.podName());
        metrics.rejected(n.pool(), "unavailable", 1);
    }
}
