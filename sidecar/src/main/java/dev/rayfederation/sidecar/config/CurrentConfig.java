package dev.rayfederation.sidecar.config;

import java.time.Instant;
import java.util.function.Supplier;

/**
 * The configuration in force now. A live reload swaps it whole; every component reads it here when it needs it
 * instead of keeping the one it was built with, so no part of the sidecar works on an old configuration after a
 * reload. Placement swaps it under its lock, so a decision never sees half of a reload.
 */
public final class CurrentConfig implements Supplier<FederationConfig> {

    /** One configuration and when it took effect; the first one (at start-up) is generation 1. */
    public record Generation(long number, FederationConfig config, Instant since) {
    }

    private volatile Generation current;

    public CurrentConfig(FederationConfig initial) {
        current = new Generation(1, initial, Instant.now());
    }

    @Override
    public FederationConfig get() {
        return current.config();
    }

    public Generation generation() {
        return current;
    }

    /** Puts {@code next} in force; returns its generation. */
    public synchronized Generation replace(FederationConfig next) {
        current = new Generation(current.number() + 1, next, Instant.now());
        return current;
    }
}
