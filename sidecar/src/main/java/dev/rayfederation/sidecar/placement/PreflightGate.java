package dev.rayfederation.sidecar.placement;

import java.util.Optional;

/** Whether the network preflight keeps a member out of placement, and why. */
@FunctionalInterface
public interface PreflightGate {

    /** Keeps no member out. */
    PreflightGate NONE = member -> Optional.empty();

    /** Why {@code member} takes no new workers now because of its preflight; empty when it may. */
    Optional<String> excluded(String member);
}
