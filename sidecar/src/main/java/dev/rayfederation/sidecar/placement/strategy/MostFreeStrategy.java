package dev.rayfederation.sidecar.placement.strategy;

import dev.rayfederation.sidecar.placement.Candidate;

import java.util.Comparator;

/**
 * {@code most-free}: the member with the most room for the pool's shape takes the batch; spill over in decreasing
 * order of room. With one-worker requests (autoscaler v2) each worker goes where the most room is left.
 */
final class MostFreeStrategy implements PlacementStrategy {

    private static final Comparator<Candidate> ORDER =
            Fill.BY_FREE_ROOM.thenComparing(Fill.BY_PRIORITY).thenComparing(Fill.BY_CONFIG_ORDER);

    @Override
    public String name() {
        return "most-free";
    }

    @Override
    public String description() {
        return "the member with the most free room first, then spill over";
    }

    @Override
    public Comparator<Candidate> order() {
        return ORDER;
    }
}
