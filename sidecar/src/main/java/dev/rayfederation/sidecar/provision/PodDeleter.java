package dev.rayfederation.sidecar.provision;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRecord.Phase;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Deletes worker pods, retrying with a doubling pause (1 s up to 30 s) until the member confirms, for as long as
 * the deletion is still wanted. Every pod the sidecar deletes goes through here.
 */
public final class PodDeleter {

    private static final Logger LOG = LoggerFactory.getLogger(PodDeleter.class);
    static final Duration RETRY_MIN = Duration.ofSeconds(1);
    static final Duration RETRY_MAX = Duration.ofSeconds(30);

    private final Map<String, MemberCluster> members;
    private final NodeRegistry registry;
    private final ScheduledExecutorService scheduler;

    public PodDeleter(Map<String, MemberCluster> members, NodeRegistry registry, ScheduledExecutorService scheduler) {
        this.members = members;
        this.registry = registry;
        this.scheduler = scheduler;
    }

    /**
     * Deletes the pod of a terminating node until it is gone, as long as the node is still terminating on that
     * member. A pod already gone removes the node at once; otherwise the informer's delete event does.
     */
    public void deleteNode(NodeRecord node) {
        if (!members.containsKey(node.member())) {
            registry.remove(node.id());
            return;
        }
        BooleanSupplier wanted = () -> registry.get(node.id())
                .filter(r -> r.phase() == Phase.TERMINATING && r.member().equals(node.member())).isPresent();
        delete(node.member(), node.podName(), wanted, () -> registry.forget(node.id(), node.member(), node.podName()),
                RETRY_MIN);
    }

    /** Deletes a pod no node needs any more (an orphan, or the old pod of a re-placed node) until it is gone. */
    public void deleteOrphan(String member, String podName) {
        if (members.containsKey(member)) {
            delete(member, podName, () -> true, () -> { }, RETRY_MIN);
        }
    }

    private void delete(String member, String podName, BooleanSupplier stillWanted, Runnable alreadyGone,
                        Duration pause) {
        members.get(member).deleteWorker(podName).whenComplete((deleted, err) -> {
            if (err == null) {
                if (!Boolean.TRUE.equals(deleted)) {
                    alreadyGone.run();
                }
                return;
            }
            if (!stillWanted.getAsBoolean()) {
                return;
            }
            LOG.warn("deleting pod {} in {} failed ({}); retrying in {}s", podName, member,
                    Failures.rootMessage(err), pause.toSeconds());
            Duration doubled = pause.multipliedBy(2);
            Duration next = doubled.compareTo(RETRY_MAX) > 0 ? RETRY_MAX : doubled;
            scheduler.schedule(() -> delete(member, podName, stillWanted, alreadyGone, next),
                    pause.toMillis(), TimeUnit.MILLISECONDS);
        });
    }
}
