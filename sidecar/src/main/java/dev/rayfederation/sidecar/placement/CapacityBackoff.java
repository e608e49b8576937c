package dev.rayfederation.sidecar.placement;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Back-off per (member, pool) after a capacity failure: a worker that stayed unschedulable or did not
 * start in time. Placement skips a pair while it backs off; each new failure doubles the pause up to a
 * maximum; a worker of the pair that comes up resets it. (Compare Karpenter's insufficient-capacity cache
 * and Cluster Autoscaler's node-group back-off, but per pool and member, with escalation.)
 */
public final class CapacityBackoff {

    /** Current back-off of one pair. */
    public record Entry(String member, String pool, Instant until, Duration pause, int failures, String reason) {
    }

    private final Duration initial;
    private final Duration max;
    private final Clock clock;
    private final Map<String, Entry> entries = new HashMap<>();

    public CapacityBackoff(Duration initial, Duration max, Clock clock) {
        this.initial = initial;
        this.max = max;
        this.clock = clock;
    }

    private static String key(String member, String pool) {
        return member + "\u0000" + pool;
    }

    /** Records a failure and returns the new back-off. */
    public synchronized Entry fail(String member, String pool, String reason) {
        Entry old = entries.get(key(member, pool));
        Duration pause = old == null ? initial : old.pause().multipliedBy(2);
        if (pause.compareTo(max) > 0) {
            pause = max;
        }
        Entry e = new Entry(member, pool, clock.instant().plus(pause), pause, old == null ? 1 : old.failures() + 1, reason);
        entries.put(key(member, pool), e);
        return e;
    }

    /** A worker of the pair came up: forget its failures. */
    public synchronized void succeed(String member, String pool) {
        entries.remove(key(member, pool));
    }

    /** The pair's back-off if it is still in force. */
    public synchronized Optional<Entry> active(String member, String pool) {
        Entry e = entries.get(key(member, pool));
        if (e == null || !clock.instant().isBefore(e.until())) {
            return Optional.empty();
        }
        return Optional.of(e);
    }

    /** Every pair still backing off (for /v1/clusters and metrics). */
    public synchronized java.util.List<Entry> activeEntries() {
        Instant now = clock.instant();
        return entries.values().stream().filter(e -> now.isBefore(e.until())).toList();
    }
}
