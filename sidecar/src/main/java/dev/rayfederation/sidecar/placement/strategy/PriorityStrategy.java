package dev.rayfederation.sidecar.placement.strategy;

import dev.rayfederation.sidecar.placement.Candidate;

import java.util.List;
import java.util.Map;

/** {@code priority}: fill the highest-priority member first, spill over to the next (config order breaks ties). */
final class PriorityStrategy implements PlacementStrategy {

    @Override
    public String name() {
        return "priority";
    }

    @Override
    public String description() {
        return "fill the highest-priority member first, then spill over";
    }

    @Override
    public long placeNow(long n, List<Candidate> candidates, Map<String, Integer> out) {
        return Fill.inOrder(n, Fill.sorted(candidates, Fill.BY_PRIORITY.thenComparing(Fill.BY_CONFIG_ORDER)),
                Candidate::freeNow, out);
    }

    @Override
    public long placeElastic(long n, List<Candidate> elastic, Map<String, Integer> out) {
        return Fill.inOrder(n, Fill.sorted(elastic, Fill.BY_PRIORITY.thenComparing(Fill.BY_CONFIG_ORDER)),
                Candidate::room, out);
    }
}
