package dev.rayfederation.sidecar.placement.strategy;

import dev.rayfederation.sidecar.placement.Candidate;

import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * One rule for spreading new workers over the members that may take them. A strategy is pure: no I/O, no clock;
 * it sees each member's true room for the pool's shape ({@link Candidate}), never capped by the request.
 *
 * <p>To add a strategy: write one class implementing this interface and list it in {@link Strategies#ALL}. Its
 * {@link #name()} is what {@code pools[].strategy} accepts in the config.
 */
public interface PlacementStrategy {

    /** The config value ({@code pools[].strategy}) naming this strategy. */
    String name();

    /** One line for the docs and {@code --check-config}. */
    String description();

    /** The order in which members are filled (the first gets as many as fit, then the next, ...). */
    Comparator<Candidate> order();

    /**
     * Gives up to {@code n} workers to the candidates, each at most its {@link Candidate#freeNow()}; adds to
     * {@code out} (member → workers) and returns how many are left. By default: fill in {@link #order()}.
     */
    default long placeNow(long n, List<Candidate> candidates, Map<String, Integer> out) {
        return Fill.inOrder(n, Fill.sorted(candidates, order()), Candidate::freeNow, out);
    }

    /**
     * Gives what did not fit now to elastic candidates (members whose own node autoscaler can add room), each up
     * to its {@link Candidate#room()} minus what it already got. By default: fill in {@link #order()}.
     */
    default long placeElastic(long n, List<Candidate> elastic, Map<String, Integer> out) {
        return Fill.inOrder(n, Fill.sorted(elastic, order()), Candidate::room, out);
    }
}
