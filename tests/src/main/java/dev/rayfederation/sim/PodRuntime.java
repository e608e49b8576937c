package dev.rayfederation.sim;

import io.fabric8.kubernetes.api.model.Pod;

/**
 * What "runs" a pod once the {@link SimulatedKubelet} has started it. The default does nothing (the pod is only an
 * object in the API server); a real-Ray tier starts a Ray worker process in {@link #started} and stops it in
 * {@link #stopped}.
 *
 * <p>Called on the member's kubelet thread: return quickly (start processes asynchronously). Exceptions are logged
 * and otherwise ignored.
 */
public interface PodRuntime {

    /** Does nothing. */
    PodRuntime NONE = new PodRuntime() {
    };

    /** The pod was just marked Running and Ready, with its pod IP, on {@code member}. */
    default void started(String member, Pod pod) {
    }

    /**
     * A pod this runtime was told about in {@link #started} was deleted or marked for deletion (the pod as last
     * seen).
     */
    default void stopped(String member, Pod pod) {
    }
}
