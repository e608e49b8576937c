package dev.rayfederation.sidecar.placement.strategy;

import java.util.List;
import java.util.Optional;

/** Every placement strategy the config may name, in the order the docs list them. Add a new one here. */
public final class Strategies {

    public static final PlacementStrategy PRIORITY = new PriorityStrategy();
    public static final PlacementStrategy SPREAD = new SpreadStrategy();
    public static final PlacementStrategy MOST_FREE = new MostFreeStrategy();
    public static final PlacementStrategy CHEAPEST = new CheapestStrategy();
    public static final PlacementStrategy PACK = new PackStrategy();

    public static final List<PlacementStrategy> ALL = List.of(PRIORITY, SPREAD, MOST_FREE, CHEAPEST, PACK);

    /** The default of {@code pools[].strategy}. */
    public static final PlacementStrategy DEFAULT = SPREAD;

    private Strategies() {
    }

    public static Optional<PlacementStrategy> byName(String name) {
        return ALL.stream().filter(s -> s.name().equals(name)).findFirst();
    }

    public static List<String> names() {
        return ALL.stream().map(PlacementStrategy::name).toList();
    }
}
