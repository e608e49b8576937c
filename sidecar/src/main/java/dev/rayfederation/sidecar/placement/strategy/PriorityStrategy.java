package dev.rayfederation.sidecar.placement.strategy;

import dev.rayfederation.sidecar.placement.Candidate;

import java.util.Comparator;

/** {@code priority}: fill the highest-priority member first, spill over to the next (config order breaks ties). */
final class PriorityStrategy implements PlacementStrategy {

    private static final Comparator<Candidate> ORDER = Fill.BY_PRIORITY.thenComparing(Fill.BY_CONFIG_ORDER);

    @Override
    public String name() {
        return "priority";
    }

    @Override
    public String description() {
        return "fill the highest-priority member first, then spill over";
    }

    @Override
    public Comparator<Candidate> order() {
        return ORDER;
    }
}
