package dev.rayfederation.sidecar.placement;

import dev.rayfederation.sidecar.placement.strategy.PlacementStrategy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decides how many of {@code n} new workers go to each candidate member. Pure and fast: no I/O, no clocks; the
 * caller supplies each member's room. Workers are first placed where they fit right now, by the pool's strategy;
 * whatever is left goes to elastic members (whose own node autoscaler can add room), again by the strategy.
 */
public final class PlacementPlanner {

    private PlacementPlanner() {
    }

    /** Member → workers, only members that get at least one; the sum is at most {@code n}. */
    public static Map<String, Integer> plan(PlacementStrategy strategy, int n, List<Candidate> candidates) {
        Map<String, Integer> out = new LinkedHashMap<>();
        if (n <= 0 || candidates.isEmpty()) {
            return out;
        }
        long left = strategy.placeNow(n, candidates, out);
        List<Candidate> elastic = candidates.stream().filter(Candidate::elastic).toList();
        if (left > 0 && !elastic.isEmpty()) {
            strategy.placeElastic(left, elastic, out);
        }
        return out;
    }
}
