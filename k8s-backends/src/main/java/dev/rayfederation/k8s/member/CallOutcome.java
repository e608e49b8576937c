package dev.rayfederation.k8s.member;

/** What one attempt of a guarded API call says about the member (see {@link ApiFailures#outcome}). */
enum CallOutcome {
    /** The member answered as hoped: a success for its breakers. */
    SUCCESS,
    /** No answer, 408, 429 or 5xx: a failure for its breakers, and worth another attempt. */
    MEMBER_FAILURE,
    /** A 4xx caused by our own request (404, 409, 400, 422, 403 ...): a success for its breakers, an error for the caller. */
    REQUEST_REJECTED,
    /** Our own failure (member closed, unreadable kubeconfig, a bug): neither; the breaker permit is handed back. */
    NOT_SENT
}
