package dev.rayfederation.k8s.member;

import java.util.Locale;

/** What became of a Kubernetes Event the sidecar meant to post on a worker pod (the metric's label). */
public enum PodEventOutcome {
    /** The API server stored it. */
    POSTED,
    /** Not sent: the same event on the same pod was posted recently, or the member's event rate is used up. */
    DROPPED,
    /** Not sent: the pod did not show in the member in time. */
    NO_POD,
    /** Sent and refused, or the member was closed. */
    FAILED,
    /** The member cannot post events (a simulated member). */
    UNSUPPORTED;

    /** "posted", "dropped", "no-pod", "failed", "unsupported". */
    public String wire() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
