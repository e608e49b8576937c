package dev.rayfederation.sim;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The scheduler filters on plain objects, for the cases the member tests do not reach. */
class PodFitTest {

    private static Node node(String name, String cpu, Map<String, String> labels) {
        return new NodeBuilder().withNewMetadata().withName(name).withLabels(labels).endMetadata()
                .withNewSpec().endSpec()
                .withNewStatus().withAllocatable(Map.of("cpu", new Quantity(cpu), "memory", new Quantity("64Gi"),
                        "pods", new Quantity("2")))
                .addNewCondition().withType("Ready").withStatus("True").endCondition().endStatus().build();
    }

    private static PodBuilder pod(String cpu) {
        return new PodBuilder().withNewMetadata().withName("p").endMetadata().withNewSpec()
                .addNewContainer().withName("c").withNewResources().addToRequests("cpu", new Quantity(cpu))
                .endResources().endContainer().endSpec();
    }

    @Test
    void requiredNodeAffinityChoosesTheMatchingNode() {
        Pod p = pod("1").editSpec().withNewAffinity().withNewNodeAffinity()
                .withNewRequiredDuringSchedulingIgnoredDuringExecution().addNewNodeSelectorTerm()
                .addNewMatchExpression().withKey("zone").withOperator("In").withValues("b", "c").endMatchExpression()
                .addNewMatchExpression().withKey("spot").withOperator("DoesNotExist").endMatchExpression()
                .endNodeSelectorTerm().endRequiredDuringSchedulingIgnoredDuringExecution().endNodeAffinity()
                .endAffinity().endSpec().build();
        List<Node> nodes = List.of(node("a", "8", Map.of("zone", "a")), node("b-spot", "8", Map.of("zone", "b", "spot", "y")),
                node("c", "8", Map.of("zone", "c")));

        assertThat(PodFit.place(p, nodes, Map.of()).nodeName()).isEqualTo("c");
    }

    @Test
    void aFullNodeCountsTooManyPods() {
        Node n = node("n", "8", Map.of());
        Map<String, ResourceAmounts> used = Map.of("n", ResourceAmounts.single("pods", 2));

        assertThat(PodFit.place(pod("1").build(), List.of(n), used).message())
                .isEqualTo("0/1 nodes are available: 1 Too many pods.");
    }

    @Test
    void initContainersCountAsTheirLargestRequestNotOnTop() {
        Pod p = pod("2").editSpec().addNewInitContainer().withName("init").withNewResources()
                .addToRequests("cpu", new Quantity("3")).endResources().endInitContainer()
                .addNewContainer().withName("c2").withNewResources().addToRequests("cpu", new Quantity("500m"))
                .endResources().endContainer().endSpec().build();

        assertThat(PodFit.requests(p).get("cpu")).isEqualByComparingTo("3");
    }

    @Test
    void roomCountsWholeWorkersPerNode() {
        List<Node> nodes = List.of(node("a", "7", Map.of()), node("b", "7", Map.of()));

        // 3 CPU each: 2 per node (pods allocatable is 2), never 4 from the 14 CPU sum
        assertThat(PodFit.room(pod("3").build(), nodes, Map.of())).isEqualTo(4);
        assertThat(PodFit.room(pod("4").build(), nodes, Map.of())).isEqualTo(2);
    }
}
