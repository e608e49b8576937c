package dev.rayfederation.sidecar.placement.strategy;

import dev.rayfederation.sidecar.placement.Candidate;

import java.util.Comparator;

/**
 * {@code pack}: fill the member that already runs the most workers of this pool first, so a job's traffic stays
 * inside one cluster (data locality); spill over to the next. With no workers yet, priority then config order
 * decide where the pool starts.
 */
final class PackStrategy implements PlacementStrategy {

    private static final Comparator<Candidate> ORDER = Comparator.comparingLong(Candidate::poolWorkers).reversed()
            .thenComparing(Fill.BY_PRIORITY).thenComparing(Fill.BY_CONFIG_ORDER);

    @Override
    public String name() {
        return "pack";
    }

    @Override
    public String description() {
        return "the member already running most of the pool's workers first, then spill over";
    }

    @Override
    public Comparator<Candidate> order() {
        return ORDER;
    }
}
