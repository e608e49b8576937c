package dev.rayfederation.sidecar.provision;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.member.WorkerPod;
import dev.rayfederation.k8s.member.MemberApiException;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;
import dev.rayfederation.sidecar.decisions.DecisionLog;
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
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;

/**
 * Creates the pod of a placed node in its member and records the result, making sure no pod outlives the node it
 * was made for: a pod created for a node that was re-placed or terminated meanwhile is deleted.
 *
 * <p>A member that refuses the pod itself (invalid for its API server, forbidden by its admission policy, or over
 * its namespace's ResourceQuota) will refuse it again: its (member, pool) pair backs off with the API server's
 * message, and the node is placed on another member at once if one has room.
 *
 * <p>A create whose outcome is unknown (sent, never answered) is never reported to Ray as failed, since its pod may
 * run: while the request's deadline leaves time, the node is placed on another member under the same id and the
 * first pod is deleted (until its member confirms); otherwise the node stays listed as
 * {@link NodeStatus#OUTCOME_UNKNOWN} and {@link UnknownFates} settles it once the member answers.
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
    private final DecisionLog decisions;
    /** Below this much time left before the create deadline, a node of unknown fate is not moved elsewhere. */
    static final Duration MIN_TIME_TO_REPLACE = Duration.ofMillis(300);

    public PodLauncher(Map<String, MemberCluster> members, NodeRegistry registry, PodSpecs specs, PodDeleter deleter,
                       Placement placement, WorkerShapes shapes, CapacityBackoff backoff, String rayCluster, Clock clock,
                       DecisionLog decisions) {
        this.decisions = decisions;
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
     * Creates the pod of a newly placed node: {@link Launched#CREATED}, {@link Launched#UNKNOWN} (listed as pending,
     * see the class comment), or failed with a short description; then the node is terminated and its pod deleted
     * until gone.
     *
     * @param attemptTimeout what one create attempt gets (named in the pending reason)
     * @param deadlineNanos  System.nanoTime() by which the create request answers
     */
    public CompletionStage<Launched> launch(NodeRecord node, Pool pool, Map<String, String> rayTags, Duration attemptTimeout,
                                            long deadlineNanos) {
        return members.get(node.member()).createWorker(specs.of(node, pool, rayTags)).handle((pod, err) -> {
            if (err == null) {
                created(node, pod);
                return CompletableFuture.completedFuture(Launched.CREATED);
            }
            Optional<MemberApiException> refusal = Failures.refusal(err);
            if (refusal.isPresent()) {
                return refused(node, pool, rayTags, refusal.get(), attemptTimeout, deadlineNanos);
            }
            if (Failures.outcomeUnknown(err)) {
                return unknown(node, pool, rayTags, err, attemptTimeout, deadlineNanos);
            }
            LOG.warn("creating pod {} in {} failed: {}", node.podName(), node.member(), Failures.rootMessage(err));
            registry.update(node.id(), r -> r.samePodAs(node) ? r.withPhase(Phase.TERMINATING) : r);
            deleter.deleteNode(node);
            return CompletableFuture.completedFuture(Launched.failed(node.member() + ": " + Failures.rootMessage(err)));
        }).thenCompose(answer -> answer);
    }

    /** The create was sent and not answered: move the node elsewhere in time, or list it as pending. */
    private CompletionStage<Launched> unknown(NodeRecord node, Pool pool, Map<String, String> rayTags, Throwable err,
                                              Duration attemptTimeout, long deadlineNanos) {
        Throwable root = Failures.root(err);
        String what = root instanceof CancellationException || root instanceof TimeoutException
                ? "no answer within " + attemptTimeout.toMillis() + "ms"
                : root instanceof MemberApiException api ? api.what() : Failures.rootMessage(err);
        boolean timeLeft = deadlineNanos - System.nanoTime() >= MIN_TIME_TO_REPLACE.toNanos();
        NodeRecord moved = null;
        synchronized (placement.lock()) {
            NodeRecord current = registry.get(node.id()).orElse(null);
            if (current == null || !current.samePodAs(node) || current.phase() != Phase.CREATING) {
                // terminated or moved on meanwhile
                if (current != null && current.samePodAs(node) && current.phase() == Phase.TERMINATING) {
                    deleter.deleteNode(current);
                }
                return CompletableFuture.completedFuture(current != null && current.phase() == Phase.POD
                        ? Launched.CREATED : Launched.UNKNOWN);
            }
            Optional<String> target = timeLeft ? placement.elsewhere(pool, node.member()) : Optional.empty();
            if (target.isPresent()) {
                moved = current.movedTo(target.get(), NodeIds.podName(rayCluster, node.id()),
                        shapes.of(pool.name(), target.get()), clock.instant(),
                        "create on " + node.member() + " got no answer (" + what + ")");
                registry.put(moved);
            } else {
                registry.put(current.toBuilder().status(NodeStatus.OUTCOME_UNKNOWN)
                        .reason(NodeStatus.outcomeUnknownReason(node.member(), what)).build());
            }
        }
        if (moved == null) {
            LOG.warn("creating pod {} in {} got no answer ({}); node {} stays listed as pending until {} confirms the pod or its absence",
                    node.podName(), node.member(), what, node.id(), node.member());
            return CompletableFuture.completedFuture(Launched.UNKNOWN);
        }
        LOG.warn("creating pod {} in {} got no answer ({}); placing node {} on {} instead and deleting that pod in {} until it confirms",
                node.podName(), node.member(), what, node.id(), moved.member(), node.member());
        deleter.deleteOrphan(node.member(), node.podName());
        return launch(moved, pool, rayTags, attemptTimeout, deadlineNanos);
    }

    /**
     * The member refused the pod (it was not created): back the pair off and try another member, or give up with the
     * API server's words.
     */
    private CompletionStage<Launched> refused(NodeRecord node, Pool pool, Map<String, String> rayTags,
                                              MemberApiException refusal, Duration attemptTimeout, long deadlineNanos) {
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
            return CompletableFuture.completedFuture(Launched.failed(node.member() + " refused the pod: " + words));
        }
        LOG.info("placing node {} on {} instead", node.id(), moved.member());
        decisions.replaced(node, moved.member(), "the member refused the pod: " + words);
        return launch(moved, pool, rayTags, attemptTimeout, deadlineNanos);
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

    /**
     * What became of one pod's create.
     *
     * @param failure why it was not created (null: created or unknown)
     * @param unknown true when the create was sent and never answered: the node is listed as pending
     */
    public record Launched(String failure, boolean unknown) {
        public static final Launched CREATED = new Launched(null, false);
        public static final Launched UNKNOWN = new Launched(null, true);

        static Launched failed(String why) {
            return new Launched(why, false);
        }

        public boolean created() {
            return failure == null && !unknown;
        }
    }
}
