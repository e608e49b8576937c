package dev.rayfederation.sidecar.provision;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.member.WorkerPod;
import dev.rayfederation.k8s.member.MemberApiException;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;
import dev.rayfederation.sidecar.placement.CapacityBackoff;
import dev.rayfederation.sidecar.placement.Placement;
import dev.rayfederation.sidecar.placement.WorkerShapes;
import dev.rayfederation.sidecar.registry.NodeIds;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRecord.Phase;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import dev.rayfederation.sidecar.registry.NodeStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Creates the pod of a placed node in its member and records the result, making sure no pod outlives the node it
 * was made for: a pod created for a node that was re-placed or terminated meanwhile is deleted.
 *
 * <p>A member that refuses the pod itself (invalid for its API server, forbidden by its admission policy, or over
 * its namespace's ResourceQuota) will refuse it again: its (member, pool) pair backs off with the API server's
 * message, and the node is placed on another member at once if one has room.
 */
public final class PodLauncher {

    private static final Logger LOG = LoggerFactory.getLogger(PodLauncher.class);

    private final Map<String, MemberCluster> members;
    private final NodeRegistry registry;
    private final PodSpecs specs;
    private final PodDeleter deleter;
    private final Placement placement;
    private final WorkerShapes shapes;
    private final CapacityBackoff backoff;
    private final String rayCluster;
    private final Clock clock;

    public PodLauncher(Map<String, MemberCluster> members, NodeRegistry registry, PodSpecs specs, PodDeleter deleter,
                       Placement placement, WorkerShapes shapes, CapacityBackoff backoff, String rayCluster, Clock clock) {
        this.members = members;
        this.registry = registry;
        this.specs = specs;
        this.deleter = deleter;
        this.placement = placement;
        this.shapes = shapes;
        this.backoff = backoff;
        this.rayCluster = rayCluster;
        this.clock = clock;
    }

    /**
     * Creates the pod of a newly placed node. Completes with empty on success, or a short description of the
     * failure; then the node is terminated and its pod deleted until gone, because the pod may exist although the
     * call failed (a timeout, or an attempt sent before a breaker refused the retry).
     */
    public CompletionStage<Optional<String>> launch(NodeRecord node, Pool pool, Map<String, String> rayTags) {
        return members.get(node.member()).createWorker(specs.of(node, pool, rayTags)).handle((pod, err) -> {
            if (err == null) {
                created(node, pod);
                return CompletableFuture.completedFuture(Optional.<String>empty());
            }
            Optional<MemberApiException> refusal = Failures.refusal(err);
            if (refusal.isPresent()) {
                return refused(node, pool, rayTags, refusal.get());
            }
            LOG.warn("creating pod {} in {} failed: {}", node.podName(), node.member(), Failures.rootMessage(err));
            registry.update(node.id(), r -> r.samePodAs(node) ? r.withPhase(Phase.TERMINATING) : r);
            deleter.deleteNode(node);
            return CompletableFuture.completedFuture(Optional.of(node.member() + ": " + Failures.rootMessage(err)));
        }).thenCompose(answer -> answer);
    }

    /**
     * The member refused the pod (it was not created): back the pair off and try another member, or give up with the
     * API server's words.
     */
    private CompletionStage<Optional<String>> refused(NodeRecord node, Pool pool, Map<String, String> rayTags,
                                                      MemberApiException refusal) {
        String words = Failures.refusalMessage(refusal);
        // a burst refused at once backs the pair off once, not once per pod
        CapacityBackoff.Entry off = backoff.active(node.member(), node.pool())
                .orElseGet(() -> backoff.fail(node.member(), node.pool(), words));
        LOG.warn("member {} refused pod {} of pool {}: {}; {} backs off {}s for that pool", node.member(),
                node.podName(), node.pool(), words, node.member(), off.pause().toSeconds());
        NodeRecord moved = null;
        synchronized (placement.lock()) {
            NodeRecord current = registry.get(node.id()).orElse(null);
            if (current != null && current.samePodAs(node) && current.phase() == Phase.CREATING) {
                Optional<String> target = placement.elsewhere(pool, node.member());
                if (target.isPresent()) {
                    moved = current.movedTo(target.get(), NodeIds.podName(rayCluster, node.id()),
                            shapes.of(pool.name(), target.get()), clock.instant(),
                            "refused by " + node.member() + ": " + words);
                    registry.put(moved);
                } else {
                    registry.forget(node.id(), node.member(), node.podName());
                }
            }
        }
        if (moved == null) {
            return CompletableFuture.completedFuture(Optional.of(node.member() + " refused the pod: " + words));
        }
        LOG.info("placing node {} on {} instead", node.id(), moved.member());
        return launch(moved, pool, rayTags);
    }

    /**
     * Creates the pod of a node moved to another member. A failure leaves the node placed (pending): it is moved
     * again when its creation times out.
     */
    public void relaunch(NodeRecord moved, Pool pool, Map<String, String> rayTags) {
        members.get(moved.member()).createWorker(specs.of(moved, pool, rayTags)).whenComplete((pod, err) -> {
            if (err == null) {
                created(moved, pod);
            } else {
                LOG.warn("re-placing node {} on {} failed: {}; will try again", moved.id(), moved.member(),
                        Failures.rootMessage(err));
            }
        });
    }

    /** A pod was created for {@code node}: record it, unless the node moved on or was terminated meanwhile. */
    private void created(NodeRecord node, WorkerPod pod) {
        Optional<NodeRecord> now = registry.update(node.id(),
                r -> r.samePodAs(node) && r.phase() == Phase.CREATING ? NodeStatus.observe(r, pod) : r);
        if (now.isEmpty() || !now.get().samePodAs(node)) {
            deleter.deleteOrphan(node.member(), node.podName()); // the node moved on: this pod is an orphan
        } else if (now.get().phase() == Phase.TERMINATING) {
            deleter.deleteNode(now.get()); // terminated while being created
        }
    }
}
