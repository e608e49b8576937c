package dev.rayfederation.sim;

import dev.rayfederation.sim.SidecarConfig.Pool;
import dev.rayfederation.sim.SidecarConfig.VirtualCluster;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Where workers land: strategies over the members a pool may use, spill-over, infeasible shapes. Autoscaler v2 asks
 * for one worker per request, so each strategy is also shown with successive single-worker requests.
 */
class PlacementE2ETest {

    /** Sends {@code n} requests of one worker each, one after the other; returns the member each worker landed on. */
    static List<String> oneAtATime(SidecarE2E test, String pool, int n) {
        List<String> landed = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String id = SidecarE2E.created(test.create(pool, 1, pool + "-single-" + i)).get(0);
            landed.add(test.federation.nodes().stream().filter(node -> id.equals(node.path("id").asText())).findFirst()
                    .orElseThrow(() -> new AssertionError("node " + id + " is not listed")).path("cluster").asText());
        }
        return landed;
    }

    @Nested
    @DisplayName("Strategy priority")
    class Priority extends SidecarE2E {

        @Test
        @DisplayName("fills the allowed member with the highest priority, then spills to the next one")
        void fillsTheHighestPriorityMemberThenSpillsOver() {
            // m3 has the highest priority of all but the pool may not use it
            start(members(3, 2, 16), c -> c
                    .withCluster("m1", m -> m.withPriority(1))
                    .withCluster("m2", m -> m.withPriority(10))
                    .withCluster("m3", m -> m.withPriority(100))
                    .withVirtualCluster(VirtualCluster.of("vc"))
                    .withPool(Pool.of("cpu", "vc", Map.of("CPU", 8, "memory", "16Gi"))
                            .withStrategy("priority").withClusters("m1", "m2")));

            create("cpu", 4, "fill-m2");
            awaitUpToDate("cpu", 4);
            assertThat(federation.workerPodCounts("cpu")).as("pods per member after 4 workers (m2 holds exactly 4)")
                    .isEqualTo(Map.of("m1", 0, "m2", 4, "m3", 0));

            create("cpu", 2, "spill-to-m1");
            awaitUpToDate("cpu", 6);
            assertThat(federation.workerPodCounts("cpu")).as("pods per member after 2 more")
                    .isEqualTo(Map.of("m1", 2, "m2", 4, "m3", 0));
            assertThat(apiNodesByMember("cpu")).isEqualTo(Map.of("m1", 2, "m2", 4));
        }
    }

    @Nested
    @DisplayName("Strategy spread")
    class Spread extends SidecarE2E {

        @Test
        @DisplayName("splits a request between members with equal free room")
        void splitsBetweenEqualMembers() {
            start(members(2, 2, 16), c -> c
                    .withVirtualCluster(VirtualCluster.of("vc"))
                    .withPool(Pool.of("cpu", "vc", Map.of("CPU", 4, "memory", "8Gi")).withStrategy("spread")));

            create("cpu", 8, "spread-8");

            awaitUpToDate("cpu", 8);
            Map<String, Integer> pods = federation.workerPodCounts("cpu");
            assertThat(pods.get("m1") + pods.get("m2")).isEqualTo(8);
            assertThat(Math.abs(pods.get("m1") - pods.get("m2"))).as("imbalance in %s", pods).isLessThanOrEqualTo(1);
        }

        @Test
        @DisplayName("puts on a nearly full member only what fits there and the rest on the other")
        void spillsOverWhenOneMemberIsFull() {
            List<MemberSpec> specs = List.of(
                    MemberSpec.of("m1", "aws", "us-east-1", null).withNodes(2, "n", n -> NodeSpec.of(n, 16, "64Gi")),
                    MemberSpec.of("m2", "gcp", "us-central1", null).withNodes(1, "n", n -> NodeSpec.of(n, 8, "32Gi")));
            start(specs, c -> c
                    .withVirtualCluster(VirtualCluster.of("vc"))
                    .withPool(Pool.of("cpu", "vc", Map.of("CPU", 4, "memory", "8Gi")).withStrategy("spread")));

            // room: m1 2 nodes x 4 workers, m2 1 node x 2 workers = exactly 10
            create("cpu", 10, "spread-10");

            awaitUpToDate("cpu", 10);
            assertThat(federation.workerPodCounts("cpu")).isEqualTo(Map.of("m1", 8, "m2", 2));
        }

        @Test
        @DisplayName("spreads twelve one-worker requests over three equally free members 4/4/4")
        void spreadsSingleWorkerRequestsEvenly() {
            start(members(3, 2, 16), c -> c
                    .withVirtualCluster(VirtualCluster.of("vc"))
                    .withPool(Pool.of("cpu", "vc", Map.of("CPU", 4, "memory", "8Gi")).withStrategy("spread")));

            List<String> landed = oneAtATime(this, "cpu", 12);

            awaitUpToDate("cpu", 12);
            assertThat(federation.workerPodCounts("cpu")).as("pods per member; landed in order: %s", landed)
                    .allSatisfy((member, pods) -> assertThat(pods).as(member).isBetween(3, 5));
            assertThat(apiNodesByMember("cpu").values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(12);
        }
    }

    @Nested
    @DisplayName("Strategy most-free")
    class MostFree extends SidecarE2E {

        @Test
        @DisplayName("sends the batch to the member with the most room, then spills to the next one")
        void fillsTheRoomiestMemberThenSpillsOver() {
            List<MemberSpec> specs = List.of(
                    MemberSpec.of("m1", "aws", "us-east-1", null).withNodes(1, "n", n -> NodeSpec.of(n, 16, "64Gi")),
                    MemberSpec.of("m2", "gcp", "us-central1", null).withNodes(3, "n", n -> NodeSpec.of(n, 16, "64Gi")));
            start(specs, c -> c
                    .withVirtualCluster(VirtualCluster.of("vc"))
                    .withPool(Pool.of("cpu", "vc", Map.of("CPU", 8, "memory", "16Gi")).withStrategy("most-free")));

            // room: m1 2 workers, m2 6 workers: the whole batch of 5 goes to m2
            create("cpu", 5, "most-free-5");
            awaitUpToDate("cpu", 5);
            assertThat(federation.workerPodCounts("cpu")).isEqualTo(Map.of("m1", 0, "m2", 5));

            // room now: m1 2, m2 1: m1 has the most; the 3rd spills to m2
            create("cpu", 3, "most-free-3");
            awaitUpToDate("cpu", 8);
            assertThat(federation.workerPodCounts("cpu")).isEqualTo(Map.of("m1", 2, "m2", 6));
        }

        @Test
        @DisplayName("sends each one-worker request to the member with the most room left")
        void sendsSingleWorkerRequestsToTheRoomiest() {
            List<MemberSpec> specs = List.of(
                    MemberSpec.of("m1", "aws", "us-east-1", null).withNodes(1, "n", n -> NodeSpec.of(n, 16, "64Gi")),
                    MemberSpec.of("m2", "gcp", "us-central1", null).withNodes(1, "n", n -> NodeSpec.of(n, 8, "32Gi")));
            start(specs, c -> c
                    .withVirtualCluster(VirtualCluster.of("vc"))
                    .withPool(Pool.of("cpu", "vc", Map.of("CPU", 4, "memory", "8Gi")).withStrategy("most-free")));

            // room 4 and 2: m1 (3 left), m1 (2 left), a 2/2 tie broken by config order: m1 (1 left), then m2 (2 > 1)
            assertThat(oneAtATime(this, "cpu", 4)).containsExactly("m1", "m1", "m1", "m2");
        }
    }

    @Nested
    @DisplayName("Strategy pack")
    class Pack extends SidecarE2E {

        @Test
        @DisplayName("sends each one-worker request to the member already running most of the pool, then spills over")
        void keepsSingleWorkerRequestsTogether() {
            List<MemberSpec> specs = List.of(
                    MemberSpec.of("m1", "aws", "us-east-1", null).withNodes(1, "n", n -> NodeSpec.of(n, 8, "32Gi")),
                    MemberSpec.of("m2", "gcp", "us-central1", null).withNodes(1, "n", n -> NodeSpec.of(n, 16, "64Gi")),
                    MemberSpec.of("m3", "azure", "eastus", null).withNodes(1, "n", n -> NodeSpec.of(n, 16, "64Gi")));
            start(specs, c -> c
                    .withVirtualCluster(VirtualCluster.of("vc"))
                    .withPool(Pool.of("cpu", "vc", Map.of("CPU", 4, "memory", "8Gi")).withStrategy("pack")));

            // room 2, 4, 4: the pool starts on m1 (config order) and fills it, then m2 (config order among empty
            // members), which then runs the most, then m3
            assertThat(oneAtATime(this, "cpu", 7)).containsExactly("m1", "m1", "m2", "m2", "m2", "m2", "m3");
            awaitUpToDate("cpu", 7);
            assertThat(federation.workerPodCounts("cpu")).isEqualTo(Map.of("m1", 2, "m2", 4, "m3", 1));
        }
    }

    @Nested
    @DisplayName("Strategy cheapest")
    class Cheapest extends SidecarE2E {

        @Test
        @DisplayName("fills the member where a worker costs least, then spills to the next cheapest")
        void fillsTheCheapestMemberThenSpillsOver() {
            start(members(2, 1, 16), c -> c
                    .withCluster("m1", m -> m.with("price", Map.of("CPU", 0.05, "memory", 0.01)))
                    .withCluster("m2", m -> m.with("price", Map.of("CPU", 0.02, "memory", 0.004)))
                    .withVirtualCluster(VirtualCluster.of("vc"))
                    .withPool(Pool.of("cpu", "vc", Map.of("CPU", 4, "memory", "8Gi")).withStrategy("cheapest")));

            // each member has one 16-CPU node: 4 workers each; m2 is cheaper
            create("cpu", 6, "cheap-6");
            awaitUpToDate("cpu", 6);
            assertThat(federation.workerPodCounts("cpu")).isEqualTo(Map.of("m1", 2, "m2", 4));
        }
    }

    @Nested
    @DisplayName("A shape no allowed member can ever fit")
    class Infeasible extends SidecarE2E {

        @Test
        @DisplayName("is rejected at once with reason infeasible and creates no pod")
        void isRejectedAtOnce() {
            start(members(2, 2, 16), c -> c
                    .withVirtualCluster(VirtualCluster.of("vc"))
                    .withPool(Pool.of("huge", "vc", Map.of("CPU", 64, "memory", "64Gi")))
                    .withPool(Pool.of("small", "vc", Map.of("CPU", 1, "memory", "1Gi"))));

            SidecarApi.Response r = create("huge", 2, "too-big");

            assertThat(created(r)).as("created in %s", r).isEmpty();
            assertThat(r.body().path("rejected").path("count").asInt()).as("rejected.count in %s", r).isEqualTo(2);
            assertThat(r.body().path("rejected").path("reason").asText()).as("rejected.reason in %s", r)
                    .isEqualTo("infeasible");
            assertThat(r.body().path("rejected").path("message").asText()).as("rejected.message in %s", r).isNotBlank();
            // a later request that does work proves the sidecar had every chance to create pods for the first
            create("small", 1, "fits");
            awaitUpToDate("small", 1);
            assertThat(federation.workerPodCounts("huge")).isEqualTo(Map.of("m1", 0, "m2", 0));
            assertThat(nodesOf("huge")).isEmpty();
        }
    }
}
