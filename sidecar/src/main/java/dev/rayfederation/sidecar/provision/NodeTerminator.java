package dev.rayfederation.sidecar.provision;

import dev.rayfederation.sidecar.antray.WorkerMembership;
import dev.rayfederation.sidecar.decisions.DecisionLog;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRecord.Phase;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import dev.rayfederation.sidecar.registry.NodeStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Terminates nodes at Ray's request: they leave the snapshot at once and their pods are deleted, retried until
 * done (also across a member outage). Terminating a node that is already gone is a harmless no-op. A worker that
 * belongs to an ant-ray virtual cluster leaves it before its pod is deleted ({@link WorkerMembership}).
 */
public final class NodeTerminator {

    private static final Logger LOG = LoggerFactory.getLogger(NodeTerminator.class);

    private final NodeRegistry registry;
    private final PodDeleter deleter;
    private final FederationMetrics metrics;
    private final DecisionLog decisions;
    private final WorkerMembership membership;

    public NodeTerminator(NodeRegistry registry, PodDeleter deleter, FederationMetrics metrics, DecisionLog decisions) {
        this(registry, deleter, metrics, decisions, WorkerMembership.NONE);
    }

    public NodeTerminator(NodeRegistry registry, PodDeleter deleter, FederationMetrics metrics, DecisionLog decisions,
                          WorkerMembership membership) {
        this.registry = registry;
        this.deleter = deleter;
        this.metrics = metrics;
        this.decisions = decisions;
        this.membership = membership;
    }

    /** The answer to a terminate request. */
    public record TerminateOutcome(List<String> terminating, List<String> unknown) {
    }

    public TerminateOutcome terminate(List<String> ids) {
        List<String> terminating = new ArrayList<>();
        List<String> unknown = new ArrayList<>();
        List<NodeRecord> ended = new ArrayList<>();
        for (String id : ids) {
            Optional<NodeRecord> before = registry.get(id);
            if (before.isEmpty()) {
                if (registry.gone(id)) {
                    terminating.add(id); // already gone: terminating it again is a no-op
                } else {
                    unknown.add(id);
                }
                continue;
            }
            terminating.add(id);
            NodeRecord was = before.get();
            ended.add(was);
            registry.update(id, r -> r.withPhase(Phase.TERMINATING));
            if (was.phase() == Phase.POD || NodeStatus.OUTCOME_UNKNOWN.equals(was.status())) {
                // a create of unknown outcome is over (nobody will hear its answer): its pod, if any, goes too
                membership.beforeDelete(was, () -> deleter.deleteNode(was));
            }
            // CREATING: the launcher sees TERMINATING when the create completes and deletes the pod
        }
        metrics.terminations(terminating.size(), unknown.size());
        decisions.terminated(ended);
        if (!terminating.isEmpty()) {
            LOG.info("terminating {} node(s){}", terminating.size(), unknown.isEmpty() ? "" : ", unknown " + unknown);
        }
        return new TerminateOutcome(terminating, unknown);
    }

    /** Resumes the deletions of nodes that were terminating when the sidecar stopped (from the state file). */
    public void resume() {
        for (NodeRecord r : registry.all()) {
            if (r.phase() == Phase.TERMINATING) {
                deleter.deleteNode(r);
            }
        }
    }
}
