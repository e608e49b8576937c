package dev.rayfederation.k8s.resilience;

import java.time.Instant;
import java.util.Objects;

/**
 * What a circuit breaker guarding a member says now, for placement and GET /v1/clusters.
 *
 * @param state  closed, open or half_open; for a member, the worse of its cloud's and its own breaker
 * @param scope  which breaker: "cloud:aws" or "member:aws-use1"
 * @param since  when it entered {@code state}
 * @param reason why, e.g. "5 of 10 calls failed, last: HTTP 503: ..."; null while it has never opened
 */
public record BreakerStatus(State state, String scope, Instant since, String reason) {

    public BreakerStatus {
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(scope, "scope");
        Objects.requireNonNull(since, "since");
    }

    /** A closed breaker that has never opened. */
    public static BreakerStatus closed(String scope, Instant since) {
        return new BreakerStatus(State.CLOSED, scope, since, null);
    }

    /** Breaker states as the HTTP API names them. */
    public enum State {
        /** Calls pass; failures are counted. */
        CLOSED("closed", 0),
        /** A few trial calls pass; they decide between closed and open. Placement may send a few workers. */
        HALF_OPEN("half_open", 1),
        /** Calls are refused without touching the network. Placement skips the member. */
        OPEN("open", 2);

        private final String wire;
        private final int severity;

        State(String wire, int severity) {
            this.wire = wire;
            this.severity = severity;
        }

        /** The value used in the HTTP API. */
        public String wire() {
            return wire;
        }

        /** True when this state is worse for placement than {@code other}. */
        public boolean worseThan(State other) {
            return severity > other.severity;
        }
    }
}
