package dev.rayfederation.sim;

import io.fabric8.kubernetes.api.model.Pod;

/**
 * What "runs" a pod once the {@link SimulatedKubelet} has started it. The default does nothing (the pod is only an
 * object in the API server); the real-Ray tier ({@link RayProcessRuntime}) starts a Ray worker process in
 * {@link #started} and stops it in {@link #stopped}.
 *
 * <p>Called on the member's kubelet thread: return quickly (start processes asynchronously). Exceptions are logged
 * and otherwise ignored.
 */
public interface PodRuntime {

    /** Does nothing. */
    PodRuntime NONE = new PodRuntime() {
    };

    /**
     * Called once by the kubelet before any pod starts: how this runtime reports a pod whose process ended on its
     * own (the kubelet then marks the pod Failed).
     */
    default void attach(PodExits exits) {
    }

    /**
     * The pod IP to report for a pod about to be marked Running; {@code proposed} is the kubelet's own
     * ({@code 10.<member#>.x.y}). A runtime may report something else, e.g. the Ray node id of the process it will
     * start (single-host Ray keys nodes by node id instead of IP).
     */
    default String podIp(String member, Pod pod, String proposed) {
        return proposed;
    }

    /** The pod was just marked Running (and Ready, unless readiness is reported), with its pod IP, on {@code member}. */
    default void started(String member, Pod pod) {
    }

    /**
     * A pod this runtime was told about in {@link #started} was deleted or marked for deletion (the pod as last
     * seen).
     */
    default void stopped(String member, Pod pod) {
    }

    /**
     * True when this runtime tells when a pod's process is ready ({@link #attachReadiness}): the kubelet then keeps a
     * pod with a readiness probe not Ready until told. False: such pods are Ready as soon as they run.
     */
    default boolean reportsReadiness() {
        return false;
    }

    /** Called once by the kubelet before any pod starts: how this runtime reports a pod's process ready. */
    default void attachReadiness(PodReadiness readiness) {
    }

    /** How a runtime tells the kubelet that a pod's process is ready (what its readiness probe would find). */
    @FunctionalInterface
    interface PodReadiness {
        void ready(String member, Pod pod);
    }

    /** How a runtime tells the kubelet that a pod's process ended by itself. */
    @FunctionalInterface
    interface PodExits {

        /**
         * The process of {@code pod} (as passed to {@link #started}) on {@code member} exited with {@code exitCode};
         * {@code message} says why (shown in the pod's container status).
         */
        void exited(String member, Pod pod, int exitCode, String message);
    }
}
