package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.resilience.BreakerStatus;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * How a member's calls go, as its state should show it: they are failing while its cloud's or its own circuit
 * breaker is not closed, or after {@value #FAILED_IN_A_ROW} calls in a row failed without an answer (or with
 * 408, 429, 5xx). Any answer, even a refusal of our request, resets the count. Thread-safe.
 */
final class CallHealth {

    /** How many calls in a row must fail before a synced member is DEGRADED. */
    static final int FAILED_IN_A_ROW = 3;

    private final Supplier<BreakerStatus> breaker;
    private final AtomicInteger failedInARow = new AtomicInteger();
    private volatile String lastFailure;

    /** @param breaker the worse of the member's cloud's and its own breaker */
    CallHealth(Supplier<BreakerStatus> breaker) {
        this.breaker = breaker;
    }

    /**
     * Records the outcome of an attempt that was sent.
     *
     * @return true when the member's state may have to change
     */
    boolean record(CallOutcome outcome, Throwable failure) {
        int before = failedInARow.get();
        if (outcome == CallOutcome.MEMBER_FAILURE) {
            lastFailure = ApiFailures.describe(failure);
            failedInARow.incrementAndGet();
        } else {
            failedInARow.set(0);
        }
        return before >= FAILED_IN_A_ROW || failedInARow.get() >= FAILED_IN_A_ROW;
    }

    /** A new connection: the count starts again. */
    void reset() {
        failedInARow.set(0);
    }

    /** True while the breaker is not closed or the last calls failed: the member should be probed. */
    boolean failing() {
        return breaker.get().state() != BreakerStatus.State.CLOSED || failedInARow.get() >= FAILED_IN_A_ROW;
    }

    /**
     * Why the member is DEGRADED because of its calls (an open breaker, or calls failing in a row); null when its
     * calls go through.
     *
     * @param server the API server's URL, for the message
     */
    String problem(String server) {
        BreakerStatus b = breaker.get();
        if (b.state() == BreakerStatus.State.OPEN) {
            return "circuit breaker " + b.scope() + " is open" + (b.reason() == null ? "" : " (" + b.reason() + ")");
        }
        int failed = failedInARow.get();
        return failed >= FAILED_IN_A_ROW ? "the last " + failed + " calls to the API server " + server + " failed, last: " + lastFailure : null;
    }
}
