package dev.rayfederation.sidecar.placement.strategy;

import dev.rayfederation.sidecar.placement.Candidate;

import java.util.Comparator;
import java.util.List;
import java.util.Map;

/** {@code cheapest}: the lowest price per worker first (members without a price last), then spill over. */
final class CheapestStrategy implements PlacementStrategy {

    private static final Comparator<Candidate> ORDER = Comparator.comparing((Candidate c) -> c.pricePerWorker() == null)
            .thenComparing(c -> c.pricePerWorker() == null ? 0.0 : c.pricePerWorker())
            .thenComparing(Fill.BY_PRIORITY).thenComparing(Fill.BY_CONFIG_ORDER);

    @Override
    public String name() {
        return "cheapest";
    }

    @Override
    public String description() {
        return "the lowest price per worker first (members without a price last), then spill over";
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
