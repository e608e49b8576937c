package dev.rayfederation.sidecar.placement;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Members an operator took out of placement ({@code POST /v1/clusters/{name}:cordon}): they take no new workers,
 * and the workers they have stay until Ray terminates them. A revision per change lets the state file keep
 * cordons across a restart.
 */
public final class Cordons {

    /** Who cordoned a member, why, and since when. */
    public record Cordon(String by, String reason, Instant since) {
    }

    private final Map<String, Cordon> cordons = new TreeMap<>();
    private final AtomicLong revision = new AtomicLong();

    /** Cordons {@code member}; a member already cordoned keeps its first cordon (who, why and since when). */
    public synchronized Cordon cordon(String member, String by, String reason, Instant now) {
        Cordon existing = cordons.get(member);
        if (existing != null) {
            return existing;
        }
        Cordon c = new Cordon(by, reason, now);
        cordons.put(member, c);
        revision.incrementAndGet();
        return c;
    }

    /** Uncordons {@code member}; true when it was cordoned. */
    public synchronized boolean uncordon(String member) {
        boolean was = cordons.remove(member) != null;
        if (was) {
            revision.incrementAndGet();
        }
        return was;
    }

    public synchronized Optional<Cordon> of(String member) {
        return Optional.ofNullable(cordons.get(member));
    }

    public synchronized Map<String, Cordon> all() {
        return Map.copyOf(cordons);
    }

    /** Takes in the cordons kept in the state file (at start-up). */
    public synchronized void restore(Map<String, Cordon> kept) {
        cordons.putAll(kept);
        revision.incrementAndGet();
    }

    /** Changes with every cordon and uncordon. */
    public long revision() {
        return revision.get();
    }
}
