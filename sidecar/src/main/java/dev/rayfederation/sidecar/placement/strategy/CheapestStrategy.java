package dev.rayfederation.sidecar.placement.strategy;

import dev.rayfederation.sidecar.placement.Candidate;

import java.util.Comparator;

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
    public Comparator<Candidate> order() {
        return ORDER;
    }
}
