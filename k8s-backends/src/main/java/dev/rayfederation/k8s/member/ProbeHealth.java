package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.resilience.ResilienceOptions;

import java.time.Duration;
import java.time.Instant;

/**
 * What the liveness probes of one member say: reachable or not, and whether it flaps. A member is unreachable
 * after {@code failuresToUnreachable} failed probes in a row and reachable again at the first answer. Each time it
 * becomes unreachable is a flap; from the {@code afterFlaps}-th flap on, a member that answers again is held out of
 * placement for a while that doubles with every flap (up to {@code max}). A member that stays reachable for
 * {@code max} starts counting flaps from zero.
 *
 * <p>Written on the member's control thread only; read from anywhere.
 */
final class ProbeHealth {

    private final ResilienceOptions.ProbeSettings probe;
    private final ResilienceOptions.HoldOutSettings hold;
    private int failedInARow;
    private volatile String lastFailure;
    private volatile boolean unreachable;
    private volatile int flaps;
    private volatile Instant reachableSince;
    private volatile Instant heldOutUntil;

    ProbeHealth(ResilienceOptions.ProbeSettings probe, ResilienceOptions.HoldOutSettings hold) {
        this.probe = probe;
        this.hold = hold;
    }

    /** A probe was answered. @return true when this ends an unreachable spell */
    boolean answered(Instant now) {
        failedInARow = 0;
        if (!unreachable) {
            return false;
        }
        unreachable = false;
        reachableSince = now;
        if (flaps >= hold.afterFlaps()) {
            heldOutUntil = now.plus(holdFor(flaps));
        }
        return true;
    }

    /** A probe failed with {@code what}. @return true when this makes the member unreachable */
    boolean failed(String what, Instant now) {
        lastFailure = what;
        failedInARow++;
        if (unreachable || failedInARow < probe.failuresToUnreachable()) {
            return false;
        }
        unreachable = true;
        Instant since = reachableSince;
        if (since != null && Duration.between(since, now).compareTo(hold.max()) >= 0) {
            flaps = 0; // it was steady for a long while: this is a new story
        }
        flaps++;
        return true;
    }

    boolean unreachable() {
        return unreachable;
    }

    /** Times it became unreachable recently. */
    int flaps() {
        return flaps;
    }

    /** When its hold-out ends, or null when it is not held out at {@code now}. */
    Instant heldOutUntil(Instant now) {
        Instant until = heldOutUntil;
        return until != null && now.isBefore(until) ? until : null;
    }

    /** The hold-out after the {@code n}-th flap: initial, doubled for every flap after afterFlaps, at most max. */
    Duration holdFor(int n) {
        Duration d = hold.initial();
        for (int i = hold.afterFlaps(); i < n && d.compareTo(hold.max()) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(hold.max()) > 0 ? hold.max() : d;
    }

    String unreachableReason(String server) {
        int n = probe.failuresToUnreachable();
        return "no answer from the API server " + server + " to " + n + " liveness probe" + (n == 1 ? "" : "s")
                + " in a row (GET /version, " + MemberConnection.seconds(probe.timeout()) + " each), last: " + lastFailure
                + "; showing the last known pods";
    }

    /** Why it is held out at {@code now}, or null. */
    String heldOutReason(Instant now) {
        Instant until = heldOutUntil(now);
        return until == null ? null
                : "held out until " + until + ": it became unreachable " + flaps + " times recently (flapping)";
    }
}
