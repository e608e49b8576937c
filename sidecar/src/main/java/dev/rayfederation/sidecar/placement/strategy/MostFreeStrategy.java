package dev.rayfederation.sidecar.placement.strategy;

import dev.rayfederation.sidecar.placement.Candidate;

import java.util.Comparator;
import java.util.List;
import java.util.Map;

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
    public long placeNow(long n, List<Candidate> candidates, Map<String, Integer> out) {
        return Fill.inOrder(n, Fill.sorted(candidates, ORDER), Candidate::freeNow, out);
    }

    @Override
    public long placeElastic(long n, List<Candidate> elastic, Map<String, Integer> out) {
        return Fill.inOrder(n, Fill.sorted(elastic, ORDER), Candidate::room, out);
    }
}
