package dev.rayfederation.sidecar.provision;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.member.WorkerPod;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRecord.Phase;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import dev.rayfederation.sidecar.registry.NodeStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * Creates the pod of a placed node in its member and records the result, making sure no pod outlives the node it
 * was made for: a pod created for a node that was re-placed or terminated meanwhile is deleted.
 */
public final class PodLauncher {

    private static final Logger LOG = LoggerFactory.getLogger(PodLauncher.class);

    private final Map<String, MemberCluster> members;
    private final NodeRegistry registry;
    private final PodSpecs specs;
    private final PodDeleter deleter;

    public PodLauncher(Map<String, MemberCluster> members, NodeRegistry registry, PodSpecs specs, PodDeleter deleter) {
        this.members = members;
        this.registry = registry;
        this.specs = specs;
        this.deleter = deleter;
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
                return Optional.<String>empty();
            }
            LOG.warn("creating pod {} in {} failed: {}", node.podName(), node.member(), Failures.rootMessage(err));
            registry.update(node.id(), r -> r.samePodAs(node) ? r.withPhase(Phase.TERMINATING) : r);
            deleter.deleteNode(node);
            return Optional.of(node.member() + ": " + Failures.rootMessage(err));
        });
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
