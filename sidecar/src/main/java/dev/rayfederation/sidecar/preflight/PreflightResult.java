package dev.rayfederation.sidecar.preflight;

import java.time.Instant;
import java.util.Locale;

/**
 * A member's network preflight as the sidecar last judged it.
 *
 * @param state     ok, failed or pending (not judged yet, or its settings changed since)
 * @param direction for a failure: {@link #WORKER_TO_HEAD} or {@link #HEAD_TO_WORKER}; else null
 * @param error     for a failure: what the failing side saw; else null
 * @param at        when the state was reached (for pending: since when)
 * @param lastRunAt when the last probe ended, whatever it found; null before the first
 * @param note      the last probe that gave no verdict and why (its pod never ran, say), or null
 */
public record PreflightResult(State state, String direction, String error, Instant at, Instant lastRunAt, String note) {

    public static final String WORKER_TO_HEAD = "worker -> head";
    public static final String HEAD_TO_WORKER = "head -> worker";

    public enum State {
        PENDING, OK, FAILED;

        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    static PreflightResult pending(Instant since, String note) {
        return new PreflightResult(State.PENDING, null, null, since, null, note);
    }

    public boolean failed() {
        return state == State.FAILED;
    }

    /** One line for logs, /readyz and placement's reasons, e.g. "failed at T (worker -> head: cannot connect ...)". */
    public String describe() {
        return switch (state) {
            case OK -> "ok at " + at;
            case FAILED -> "failed at " + at + " (" + direction + ": " + error + ")";
            case PENDING -> "pending since " + at + (note == null ? "" : " (" + note + ")");
        };
    }
}
