package dev.rayfederation.sidecar.decisions;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.member.PodEventOutcome;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRegistry;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Turns PLACED and REPLACED decisions into Kubernetes Events on the workers' pods (reasons {@value #PLACED} and
 * {@value #REPLACED}), so {@code kubectl describe pod} in a member says why the worker is there. A member that
 * answers at once that it does not list the pod yet (the pod of a re-placed worker is created after the decision)
 * is asked again every second for {@link #ASK_AGAIN_FOR}; a member that waited for the pod itself (a real member
 * waits longer than that) is not asked again, so each event is counted once, in
 * {@code ray_federation_kubernetes_events_total}, with what became of it.
 */
public final class PodEventPoster implements Consumer<Decision> {

    static final String PLACED = "Placed";
    static final String REPLACED = "Replaced";
    static final Duration ASK_AGAIN_FOR = Duration.ofSeconds(10);
    private static final long RETRY_MS = 1000;

    private final Map<String, MemberCluster> members;
    private final NodeRegistry registry;
    private final ScheduledExecutorService scheduler;
    private final FederationMetrics metrics;
    private final Duration askAgainFor;

    public PodEventPoster(Map<String, MemberCluster> members, NodeRegistry registry, ScheduledExecutorService scheduler,
                          FederationMetrics metrics) {
        this(members, registry, scheduler, metrics, ASK_AGAIN_FOR);
    }

    PodEventPoster(Map<String, MemberCluster> members, NodeRegistry registry, ScheduledExecutorService scheduler,
                   FederationMetrics metrics, Duration askAgainFor) {
        this.members = members;
        this.registry = registry;
        this.scheduler = scheduler;
        this.metrics = metrics;
        this.askAgainFor = askAgainFor;
    }

    @Override
    public void accept(Decision d) {
        String reason = switch (d.kind()) {
            case PLACED -> PLACED;
            case REPLACED -> REPLACED;
            default -> null;
        };
        if (reason == null) {
            return;
        }
        for (String id : d.nodeIds()) {
            Optional<NodeRecord> node = registry.get(id);
            if (node.isPresent() && node.get().member().equals(d.to()) && members.containsKey(d.to())) {
                post(members.get(d.to()), node.get().podName(), reason, message(d), System.nanoTime() + askAgainFor.toNanos());
            }
        }
    }

    private static String message(Decision d) {
        return d.kind() == Decision.Kind.PLACED
                ? "ray-federation placed this " + d.nodeType() + " worker (pool " + d.pool() + ") on member " + d.to() + ": " + d.reason()
                : "ray-federation " + d.reason() + " (pool " + d.pool() + ")";
    }

    /** @param askUntil {@link System#nanoTime()} after which a NO_POD answer is final */
    private void post(MemberCluster member, String podName, String reason, String message, long askUntil) {
        member.postPodEvent(podName, reason, message, false).whenComplete((outcome, err) -> {
            PodEventOutcome o = err != null ? PodEventOutcome.FAILED : outcome;
            if (o == PodEventOutcome.NO_POD && System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RETRY_MS) < askUntil) {
                try {
                    scheduler.schedule(() -> post(member, podName, reason, message, askUntil), RETRY_MS, TimeUnit.MILLISECONDS);
                    return;
                } catch (RejectedExecutionException closed) {
                    // shutting down: count it as it stands
                }
            }
            if (o != PodEventOutcome.UNSUPPORTED) {
                metrics.kubernetesEvent(member.name(), o.wire());
            }
        });
    }
}
