package dev.rayfederation.sidecar.placement.strategy;

import dev.rayfederation.sidecar.placement.Candidate;

import java.util.Comparator;
import java.util.List;
import java.util.Map;

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
    public long placeNow(long n, List<Candidate> candidates, Map<String, Integer> out) {
        return Fill.inOrder(n, Fill.sorted(candidates, ORDER), Candidate::freeNow, out);
    }

    @Override
    public long placeElastic(long n, List<Candidate> elastic, Map<String, Integer> out) {
        return Fill.inOrder(n, Fill.sorted(elastic, ORDER), Candidate::room, out);
    }
}
