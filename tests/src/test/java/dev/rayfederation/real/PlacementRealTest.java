package dev.rayfederation.real;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sim.SidecarApi;
import dev.rayfederation.sim.SidecarConfig.Pool;
import dev.rayfederation.sim.SidecarConfig.VirtualCluster;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** Placement on real members: the real kube-scheduler binds what the sidecar places, admission runs. */
class PlacementRealTest extends RealFederationTest {

    @Test
    @DisplayName("fills the highest-priority member, spills over to the next two, and the real scheduler binds every worker there")
    void fillsTheFirstMemberThenSpillsOverAcrossThree() {
        startSidecar(c -> awsFirst(c)
                .withVirtualCluster(VirtualCluster.of("vc"))
                .withPool(Pool.of("cpu", "vc", Map.of("CPU", 8, "memory", "16Gi")).withStrategy("priority")));

        // aws-use1: 4 nodes x 16 CPU = 8 workers of 8 CPU
        create("cpu", 8, "fill-aws");
        awaitUpToDate("cpu", 8);
        assertThat(podCounts("cpu")).as("pods per member after 8").isEqualTo(Map.of(AWS, 8, GCP, 0, AZURE, 0));

        // gcp-usc1 has 2 untainted nodes of 8 CPU (its GPU nodes are tainted), azure-eus 2 of 8 CPU
        create("cpu", 4, "spill");
        awaitUpToDate("cpu", 12);
        assertThat(podCounts("cpu")).as("pods per member after 4 more").isEqualTo(Map.of(AWS, 8, GCP, 2, AZURE, 2));
        assertThat(apiNodesByMember("cpu")).isEqualTo(Map.of(AWS, 8, GCP, 2, AZURE, 2));

        for (RealMember m : members().members()) {
            Set<String> nodeNames = m.admin().nodes().list().getItems().stream()
                    .map(n -> n.getMetadata().getName()).collect(Collectors.toSet());
            for (Pod p : podsOf(m, "cpu")) {
                assertThat(p.getSpec().getNodeName()).as("node of %s on %s", p.getMetadata().getName(), m.name())
                        .isIn(nodeNames);
                assertThat(p.getStatus().getPhase()).isEqualTo("Running");
                assertThat(p.getStatus().getPodIP()).as("pod IP (a loopback range)").startsWith("127.");
            }
        }
        // what GET /v1/nodes says about each worker is what its pod says
        for (JsonNode n : nodesOf("cpu")) {
            Pod pod = member(n.path("cluster").asText()).workerPods().stream()
                    .filter(p -> n.path("id").asText().equals(p.getMetadata().getLabels().get(NODE_ID_LABEL)))
                    .findFirst().orElseThrow(() -> new AssertionError("no pod for " + n));
            assertThat(n.path("internalIp").asText()).as("internalIp of %s", n.path("id").asText())
                    .isEqualTo(pod.getStatus().getPodIP());
        }
    }

    @Test
    @DisplayName("rejects a shape no node of any member can hold, at once, as infeasible, and creates no pod")
    void rejectsAnInfeasibleShape() {
        startSidecar(c -> c
                .withVirtualCluster(VirtualCluster.of("vc"))
                .withPool(Pool.of("huge", "vc", Map.of("CPU", 64, "memory", "64Gi")))
                .withPool(Pool.of("small", "vc", Map.of("CPU", 1, "memory", "1Gi"))));

        SidecarApi.Response r = create("huge", 2, "too-big");

        assertThat(created(r)).as("created in %s", r).isEmpty();
        assertThat(r.body().path("rejected").path("count").asInt()).as("rejected.count in %s", r).isEqualTo(2);
        assertThat(r.body().path("rejected").path("reason").asText()).as("rejected.reason in %s", r).isEqualTo("infeasible");
        create("small", 1, "fits");
        awaitUpToDate("small", 1);
        assertThat(podCounts("huge")).isEqualTo(Map.of(AWS, 0, GCP, 0, AZURE, 0));
    }

    @Test
    @DisplayName("creates up to the virtual cluster's quota and rejects the rest as quota")
    void rejectsBeyondTheQuota() {
        startSidecar(c -> c
                .withVirtualCluster(VirtualCluster.of("vc").withQuota("CPU", 16))
                .withPool(Pool.of("cpu", "vc", Map.of("CPU", 4, "memory", "8Gi"))));

        SidecarApi.Response r = create("cpu", 6, "over-quota");

        assertThat(created(r)).as("created in %s", r).hasSize(4);
        assertThat(r.body().path("rejected").path("count").asInt()).as("rejected.count in %s", r).isEqualTo(2);
        assertThat(r.body().path("rejected").path("reason").asText()).as("rejected.reason in %s", r).isEqualTo("quota");
        awaitUpToDate("cpu", 4);
        assertThat(podCounts("cpu").values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(4);
    }

    @Test
    @DisplayName("answers a replayed requestId with the same workers and creates nothing more")
    void replayedRequestIdCreatesNothing() {
        startSidecar(c -> c
                .withVirtualCluster(VirtualCluster.of("vc"))
                .withPool(Pool.of("cpu", "vc", Map.of("CPU", 2, "memory", "4Gi"))));

        SidecarApi.Response first = create("cpu", 3, "once");
        awaitUpToDate("cpu", 3);
        SidecarApi.Response replay = api().createNodes("cpu", 3, "once", rayTags("cpu"));

        assertThat(replay.status()).as("%s", replay).isEqualTo(200);
        assertThat(created(replay)).containsExactlyInAnyOrderElementsOf(created(first));
        assertThat(podCounts("cpu").values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(3);
        assertThat(nodesOf("cpu")).hasSize(3);
    }

    @Test
    @DisplayName("reports in GET /v1/clusters the capacity the members' Nodes have")
    void capacityMatchesTheNodes() {
        startSidecar(c -> c
                .withVirtualCluster(VirtualCluster.of("vc"))
                .withPool(Pool.of("cpu", "vc", Map.of("CPU", 1, "memory", "1Gi"))));

        for (RealMember m : members().members()) {
            BigDecimal cpu = BigDecimal.ZERO;
            BigDecimal memory = BigDecimal.ZERO;
            BigDecimal gpu = BigDecimal.ZERO;
            for (Node n : m.admin().nodes().list().getItems()) {
                Map<String, Quantity> a = n.getStatus().getAllocatable();
                cpu = cpu.add(Quantity.getAmountInBytes(a.get("cpu")));
                memory = memory.add(Quantity.getAmountInBytes(a.get("memory")));
                if (a.containsKey("nvidia.com/gpu")) {
                    gpu = gpu.add(Quantity.getAmountInBytes(a.get("nvidia.com/gpu")));
                }
            }
            JsonNode capacity = clusterEntry(m.name()).path("capacity");
            assertThat(amount(capacity.path("CPU").asText())).as("CPU of %s in %s", m.name(), capacity).isEqualByComparingTo(cpu);
            assertThat(amount(capacity.path("memory").asText())).as("memory of %s in %s", m.name(), capacity)
                    .isEqualByComparingTo(memory);
            BigDecimal apiGpu = capacity.has("GPU") ? amount(capacity.path("GPU").asText()) : BigDecimal.ZERO;
            assertThat(apiGpu).as("GPU of %s in %s", m.name(), capacity).isEqualByComparingTo(gpu);
            assertThat(clusterEntry(m.name()).path("kubeNodes").asInt()).as("kubeNodes of %s", m.name())
                    .isEqualTo(m.admin().nodes().list().getItems().size());
        }
    }

    private static BigDecimal amount(String quantity) {
        return Quantity.getAmountInBytes(new Quantity(quantity));
    }
}
