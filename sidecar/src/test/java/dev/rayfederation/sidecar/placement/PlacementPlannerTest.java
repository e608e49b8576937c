package dev.rayfederation.sidecar.placement;

import dev.rayfederation.sidecar.placement.strategy.Strategies;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class PlacementPlannerTest {

    private static Candidate fixed(String name, long free, int priority, Double price, int order) {
        return new Candidate(name, free, free, priority, price, order);
    }

    @Nested
    @DisplayName("priority")
    class Priority {
        @Test
        void fillsTheHighestPriorityMemberFirstAndSpillsOverWhenItIsFull() {
            var plan = PlacementPlanner.plan(Strategies.PRIORITY, 10,
                    List.of(fixed("low", 100, 1, null, 1), fixed("high", 6, 10, null, 2)));
            assertThat(plan).containsExactlyInAnyOrderEntriesOf(Map.of("high", 6, "low", 4));
        }

        @Test
        void breaksPriorityTiesByConfigOrder() {
            var plan = PlacementPlanner.plan(Strategies.PRIORITY, 3,
                    List.of(fixed("b", 10, 5, null, 2), fixed("a", 10, 5, null, 1)));
            assertThat(plan).containsExactlyInAnyOrderEntriesOf(Map.of("a", 3));
        }
    }

    @Nested
    @DisplayName("spread")
    class Spread {
        @Test
        void splitsProportionallyToFreeRoom() {
            var plan = PlacementPlanner.plan(Strategies.SPREAD, 10,
                    List.of(fixed("a", 30, 0, null, 1), fixed("b", 10, 0, null, 2)));
            assertThat(plan).containsEntry("a", 8).containsEntry("b", 2);
        }

        @Test
        void aSingleWorkerGoesWhereTheMostRoomIs() {
            var plan = PlacementPlanner.plan(Strategies.SPREAD, 1,
                    List.of(fixed("a", 3, 0, null, 1), fixed("b", 10, 0, null, 2)));
            assertThat(plan).containsExactlyInAnyOrderEntriesOf(Map.of("b", 1));
        }

        @Test
        void neverPlacesMoreThanFitsAndSaysWhatIsLeft() {
            var plan = PlacementPlanner.plan(Strategies.SPREAD, 50,
                    List.of(fixed("a", 7, 0, null, 1), fixed("b", 3, 0, null, 2)));
            assertThat(plan).containsExactlyInAnyOrderEntriesOf(Map.of("a", 7, "b", 3));
        }
    }

    @Test
    @DisplayName("most-free puts the whole batch on the member with the most room, then spills over")
    void mostFree() {
        var plan = PlacementPlanner.plan(Strategies.MOST_FREE, 12,
                List.of(fixed("a", 5, 0, null, 1), fixed("b", 10, 0, null, 2)));
        assertThat(plan).containsExactlyInAnyOrderEntriesOf(Map.of("b", 10, "a", 2));
    }

    @Test
    @DisplayName("cheapest fills the lowest price first; members without a price come last")
    void cheapest() {
        var plan = PlacementPlanner.plan(Strategies.CHEAPEST, 9, List.of(
                fixed("unpriced", 100, 99, null, 1), fixed("dear", 100, 0, 3.0, 2), fixed("cheap", 4, 0, 1.5, 3)));
        assertThat(plan).containsExactlyInAnyOrderEntriesOf(Map.of("cheap", 4, "dear", 5));
    }

    @Test
    @DisplayName("an elastic member takes what fits nowhere else, even past its current free room")
    void elasticOverflow() {
        var plan = PlacementPlanner.plan(Strategies.PRIORITY, 10, List.of(
                fixed("fixed", 4, 10, null, 1), new Candidate("elastic", 1, Long.MAX_VALUE, 0, null, 2)));
        assertThat(plan).containsExactlyInAnyOrderEntriesOf(Map.of("fixed", 4, "elastic", 6));
    }

    @Test
    @DisplayName("spread shares overflow evenly over elastic members up to their caps")
    void spreadOverflowEvenly() {
        var plan = PlacementPlanner.plan(Strategies.SPREAD, 7, List.of(
                new Candidate("e1", 0, 100, 0, null, 1), new Candidate("e2", 0, 2, 0, null, 2)));
        assertThat(plan).containsExactlyInAnyOrderEntriesOf(Map.of("e1", 5, "e2", 2));
    }

    @Test
    void nothingFitsAnywhere() {
        assertThat(PlacementPlanner.plan(Strategies.SPREAD, 5, List.of(fixed("a", 0, 0, null, 1)))).isEmpty();
        assertThat(PlacementPlanner.plan(Strategies.PRIORITY, 5, List.of())).isEmpty();
    }
}
