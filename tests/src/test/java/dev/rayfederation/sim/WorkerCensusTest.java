package dev.rayfederation.sim;

import dev.rayfederation.sim.WorkerCensus.Node;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The final-state check the chaos tests and scripts/chaos rely on: it must see every way the two sides can differ. */
class WorkerCensusTest {

    private static final Node UP_M1 = new Node("m1", "up-to-date", false);
    private static final Node UP_M2 = new Node("m2", "up-to-date", false);

    private static Map<String, List<String>> pods(List<String> m1, List<String> m2) {
        Map<String, List<String>> pods = new LinkedHashMap<>();
        pods.put("m1", m1);
        pods.put("m2", m2);
        return pods;
    }

    @Test
    @DisplayName("finds nothing wrong when each node has exactly one pod, in its member, up-to-date")
    void agreesWhenBothSidesMatch() {
        WorkerCensus census = new WorkerCensus(pods(List.of("a", "b"), List.of("c")), Map.of("a", UP_M1, "b", UP_M1, "c", UP_M2));

        assertThat(census.problems(3)).isEmpty();
        assertThat(census.podsByMember()).containsExactly(Map.entry("m1", 2), Map.entry("m2", 1));
        assertThat(census.summary()).isEqualTo("3 pods (m1 2, m2 1), 3 nodes in GET /v1/nodes, 0 duplicated, 0 orphaned, 0 stale");
    }

    @Test
    @DisplayName("reports a node id with pods in two members as duplicated")
    void reportsDuplicates() {
        WorkerCensus census = new WorkerCensus(pods(List.of("a", "b"), List.of("b")), Map.of("a", UP_M1, "b", UP_M1));

        assertThat(census.duplicates()).containsExactly(Map.entry("b", 2));
        assertThat(census.problems(2)).anyMatch(p -> p.startsWith("expected 2 worker pods, found 3"))
                .anyMatch(p -> p.startsWith("node ids with more than one pod: {b=2}"));
    }

    @Test
    @DisplayName("reports pods the API does not show as orphans, and API nodes without a pod in their member")
    void reportsOrphansAndNodesWithoutPods() {
        WorkerCensus census = new WorkerCensus(pods(List.of("a", "x"), List.of("b")), Map.of("a", UP_M1, "b", UP_M1));

        assertThat(census.orphans()).containsExactly("m1/x");
        assertThat(census.withoutPod()).containsExactly("m1/b");
        assertThat(census.problems(2)).hasSize(3);
    }

    @Test
    @DisplayName("reports stale and not up-to-date nodes even when the counts are right")
    void reportsStaleAndPendingNodes() {
        WorkerCensus census = new WorkerCensus(pods(List.of("a"), List.of("b")),
                Map.of("a", new Node("m1", "pending: scheduling", false), "b", new Node("m2", "up-to-date", true)));

        assertThat(census.problems(2)).containsExactly("stale nodes: [b]", "nodes not up-to-date: {m1:pending: scheduling=1}");
    }
}
