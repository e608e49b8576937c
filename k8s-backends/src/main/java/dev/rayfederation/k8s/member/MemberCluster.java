package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.capacity.CapacityView;
import dev.rayfederation.k8s.render.ProbePodSpec;
import dev.rayfederation.k8s.render.WorkerPodSpec;
import dev.rayfederation.k8s.resilience.Breaker;
import dev.rayfederation.k8s.resilience.BreakerRegistry;
import dev.rayfederation.k8s.resilience.BreakerStatus;
import dev.rayfederation.k8s.resilience.BreakerTransition;
import dev.rayfederation.k8s.resilience.ResilienceOptions;

import java.time.Instant;
import java.util.Collection;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

/**
 * One member Kubernetes cluster: owns its client, its informers (our worker pods; Nodes and Pods for
 * capacity), and the guard every API call goes through. Placement and the HTTP API talk to members
 * only through this interface; nothing outside k8s-backends touches fabric8.
 *
 * <p>Every method is thread-safe. Methods returning {@link CompletionStage} never block the caller:
 * blocking client calls run on the member's own worker pool.
 */
public interface MemberCluster extends AutoCloseable {

    MemberClusterSpec spec();

    default String name() {
        return spec().name();
    }

    /**
     * Connects and starts the informers. Completes normally once they have synced; completes
     * exceptionally (and leaves the member {@link MemberState#UNREACHABLE}, retrying in the background)
     * when the member cannot be reached within the start timeout. Never throws.
     */
    CompletionStage<Void> start();

    MemberState state();

    /** A short reason for the current state, for /readyz and GET /v1/clusters; null when healthy. */
    String stateReason();

    Instant stateSince();

    /** Called (on some internal thread) after every state change. */
    void onStateChange(Consumer<MemberState> listener);

    /**
     * The circuit breaker guarding this member's API calls as placement should see it: the worse of its cloud's
     * breaker and its own (the cloud's when both are equally bad), with the scope that is at fault, since when
     * and why. A member without breakers reports a closed one.
     */
    default BreakerStatus breaker() {
        return BreakerStatus.closed(Breaker.MEMBER_PREFIX + name(), Instant.EPOCH);
    }

    /**
     * True when placement may put new workers here now: the member is healthy or degraded and neither its cloud's
     * nor its own breaker is open, and it is not held out for flapping. A half-open breaker lets only a few trial
     * calls through ({@link ResilienceOptions.BreakerSettings#halfOpenCalls()}), so placement should send it a few
     * workers at most.
     */
    default boolean acceptsPlacements() {
        return state().placeable() && breaker().state() != BreakerStatus.State.OPEN && heldOutUntil() == null;
    }

    /** When this member's hold-out for flapping ends (it takes no new workers until then); null: not held out. */
    default Instant heldOutUntil() {
        return null;
    }

    /** How many times this member became unreachable recently (its liveness probe's count of flaps). */
    default int flaps() {
        return 0;
    }

    /**
     * Called (on some internal thread, keep it quick) after every transition of this member's own breaker and of
     * its cloud's breaker. To count transitions once each, listen on the {@link BreakerRegistry} instead.
     */
    default void onBreakerTransition(Consumer<BreakerTransition> listener) {
    }

    /** Our worker pods as the informer currently sees them (last known state while unreachable). */
    Collection<WorkerPod> workerPods();

    void addWorkerPodListener(WorkerPodListener listener);

    CapacityView capacity();

    /**
     * True when {@link #capacity()} already counts our pod {@code podName} as taking room on its node; placement
     * keeps room for each of our pods it does not count. {@code bound}: whether our own view of the pod has it
     * bound to a node, which is the answer for a capacity that counts every bound pod at once (the default). A
     * member whose capacity comes from a watch of all pods answers from that watch: it need not agree with the
     * watch of our pods at every moment, either way.
     */
    default boolean capacityCounts(String podName, boolean bound) {
        return bound;
    }

    /**
     * Creates the worker pod. If a pod with that name already exists and carries the same node id, the
     * existing one is returned (so a retried create is harmless).
     */
    CompletionStage<WorkerPod> createWorker(WorkerPodSpec spec);

    /**
     * Replaces the Ray tags annotation of a worker pod (so tags survive a sidecar restart).
     * Completes with false when the pod is gone.
     */
    default CompletionStage<Boolean> updateWorkerTags(String podName, java.util.Map<String, String> tags) {
        return java.util.concurrent.CompletableFuture.failedFuture(
                new UnsupportedOperationException("updateWorkerTags is not implemented by " + getClass().getSimpleName()));
    }

    /**
     * Posts a Kubernetes Event on a worker pod of ours (best effort: deduplicated, rate-limited, never retried,
     * never counted against the member's breakers). Members that cannot complete with UNSUPPORTED.
     */
    default CompletionStage<PodEventOutcome> postPodEvent(String podName, String reason, String message, boolean warning) {
        return java.util.concurrent.CompletableFuture.completedFuture(PodEventOutcome.UNSUPPORTED);
    }

    /** Deletes a worker pod; completes with false when it was already gone. */
    CompletionStage<Boolean> deleteWorker(String podName);

    /** True when this member can run the network preflight's probe pods ({@link #createProbe}). */
    default boolean runsProbes() {
        return false;
    }

    /** Creates a network preflight probe pod (never seen as a worker). Members that cannot fail with UnsupportedOperationException. */
    default CompletionStage<ProbePod> createProbe(ProbePodSpec spec) {
        return java.util.concurrent.CompletableFuture.failedFuture(
                new UnsupportedOperationException("probe pods are not supported by " + getClass().getSimpleName()));
    }

    /** The probe pod as the member's API shows it now; empty when it is gone. */
    default CompletionStage<java.util.Optional<ProbePod>> probe(String podName) {
        return java.util.concurrent.CompletableFuture.completedFuture(java.util.Optional.empty());
    }

    /** Deletes a probe pod; completes with false when it was already gone. */
    default CompletionStage<Boolean> deleteProbe(String podName) {
        return java.util.concurrent.CompletableFuture.completedFuture(false);
    }

    /** Deletes every probe pod of this Ray cluster in the member (left over by an earlier run); completes with the count. */
    default CompletionStage<Integer> deleteProbes() {
        return java.util.concurrent.CompletableFuture.completedFuture(0);
    }

    @Override
    void close();
}
