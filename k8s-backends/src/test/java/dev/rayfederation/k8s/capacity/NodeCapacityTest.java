package dev.rayfederation.k8s.capacity;

import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.resources.WorkerShape;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.rayfederation.k8s.testing.KubeObjects.node;
import static dev.rayfederation.k8s.testing.KubeObjects.pod;
import static dev.rayfederation.k8s.testing.KubeObjects.withPhase;
import static org.assertj.core.api.Assertions.assertThat;

class NodeCapacityTest {

    static final String GPU = "nvidia.com/gpu";
    static final WorkerShape CPU4 = shape(Map.of("CPU", "4", "memory", "16Gi"));
    static final WorkerShape GPU8 = shape(Map.of("CPU", "8", "GPU", "8"));
    static final WorkerShape GPU1 = shape(Map.of("CPU", "8", "GPU", "1", "memory", "32Gi"));

    static WorkerShape shape(Map<String, String> requests) {
        return WorkerShape.of(ResourceVector.ofQuantities(requests));
    }

    static NodeCapacity capacity(List<Node> nodes, List<Pod> pods) {
        return NodeCapacity.of(nodes, pods, GPU, ResourceVector.EMPTY);
    }

    @Nested
    class PerNodeFit {

        @Test
        void twoNodesWithFourFreeGpusEachCannotFitAnEightGpuWorker() {
            NodeCapacity c = capacity(List.of(
                    node("gpu-a").cpu("48").memory("192Gi").gpus("4").build(),
                    node("gpu-b").cpu("48").memory("192Gi").gpus("4").build()), List.of());

            assertThat(c.capacity().get("GPU")).isEqualTo(8000);
            assertThat(c.nodeFit(GPU8, Map.of(), 10)).isZero();
            assertThat(c.couldEverFit(GPU8)).isFalse();
            assertThat(c.nodeFit(GPU1, Map.of(), 10)).isEqualTo(8);
        }

        @Test
        void countsWhatFitsOnEachNodeAfterThePodsBoundToIt() {
            NodeCapacity c = capacity(List.of(
                    node("a").cpu("16").memory("64Gi").build(),
                    node("b").cpu("10").memory("64Gi").build()),
                    List.of(pod("other-team", "web", "a", Map.of("cpu", "6", "memory", "1Gi")),
                            pod("kube-system", "dns", "b", Map.of("cpu", "500m"))));

            // a: 10 CPU free → 2; b: 9.5 CPU free → 2
            assertThat(c.nodeFit(CPU4, Map.of(), 100)).isEqualTo(4);
            assertThat(c.allocated().get("CPU")).isEqualTo(6500);
        }

        @Test
        void ignoresTerminatedAndUnboundPods() {
            NodeCapacity c = capacity(List.of(node("a").cpu("8").memory("32Gi").build()), List.of(
                    withPhase(pod("ns", "done", "a", Map.of("cpu", "8")), "Succeeded"),
                    withPhase(pod("ns", "failed", "a", Map.of("cpu", "8")), "Failed"),
                    pod("ns", "pending", null, Map.of("cpu", "8"))));

            assertThat(c.nodeFit(CPU4, Map.of(), 100)).isEqualTo(2);
        }

        @Test
        void stopsAtTheLimit() {
            NodeCapacity c = capacity(List.of(node("a").cpu("64").memory("256Gi").build()), List.of());

            assertThat(c.nodeFit(CPU4, Map.of(), 3)).isEqualTo(3);
            assertThat(c.nodeFit(CPU4, Map.of(), 0)).isZero();
        }

        @Test
        void honoursTheNodesPodLimit() {
            NodeCapacity c = capacity(List.of(node("a").cpu("64").memory("256Gi").pods("3").build()),
                    List.of(pod("ns", "x", "a", Map.of("cpu", "100m"))));

            assertThat(c.nodeFit(CPU4, Map.of(), 100)).isEqualTo(2);
        }

        @Test
        void needsAResourceTheNodesDoNotHave() {
            NodeCapacity c = capacity(List.of(node("a").cpu("64").memory("256Gi").build()), List.of());

            assertThat(c.nodeFit(GPU1, Map.of(), 10)).isZero();
            assertThat(c.couldEverFit(GPU1)).isFalse();
            assertThat(c.nodeFit(shape(Map.of("CPU", "1", "example.com/fpga", "1")), Map.of(), 10)).isZero();
        }

        @Test
        void countsInitContainersAsKubernetesDoes() {
            Pod withInit = new PodBuilder(pod("ns", "init", "a", Map.of("cpu", "1")))
                    .editSpec()
                    .addToInitContainers(new ContainerBuilder().withName("warmup").withNewResources()
                            .withRequests(Map.of("cpu", new Quantity("6"))).endResources().build())
                    .endSpec().build();
            NodeCapacity c = capacity(List.of(node("a").cpu("8").memory("64Gi").build()), List.of(withInit));

            // the pod holds max(1, 6) = 6 CPUs: 2 left, no 4-CPU worker fits
            assertThat(c.nodeFit(CPU4, Map.of(), 10)).isZero();
        }
    }

    @Nested
    class Eligibility {

        final List<Node> nodes = List.of(
                node("cpu-1").cpu("16").memory("64Gi").build(),
                node("gpu-1").cpu("48").memory("192Gi").gpus("4")
                        .label("cloud.google.com/gke-accelerator", "nvidia-l4")
                        .taint("nvidia.com/gpu", "present", "NoSchedule").build());

        @Test
        void aNodeSelectorLimitsTheNodesThatCount() {
            NodeCapacity c = capacity(nodes, List.of());
            WorkerShape onL4 = new WorkerShape(CPU4.requests(), Map.of("cloud.google.com/gke-accelerator", "nvidia-l4"),
                    List.of(new WorkerShape.Toleration("nvidia.com/gpu", "Exists", null, "NoSchedule")));

            assertThat(c.nodeFit(onL4, Map.of(), 100)).isEqualTo(12);
            assertThat(c.nodeFit(new WorkerShape(CPU4.requests(), Map.of("cloud.google.com/gke-accelerator", "nvidia-a100"),
                    List.of()), Map.of(), 100)).isZero();
        }

        @Test
        void anUntoleratedTaintKeepsWorkersOff() {
            NodeCapacity c = capacity(nodes, List.of());
            WorkerShape noToleration = GPU1;
            WorkerShape tolerating = new WorkerShape(GPU1.requests(), Map.of(),
                    List.of(new WorkerShape.Toleration("nvidia.com/gpu", "Equal", "present", "NoSchedule")));

            assertThat(c.nodeFit(noToleration, Map.of(), 100)).isZero();
            assertThat(c.couldEverFit(noToleration)).isFalse();
            assertThat(c.nodeFit(tolerating, Map.of(), 100)).isEqualTo(4);
            assertThat(c.nodeFit(CPU4, Map.of(), 100)).as("CPU workers stay on the untainted node").isEqualTo(4);
        }

        @Test
        void preferNoScheduleTaintsDoNotBlock() {
            NodeCapacity c = capacity(List.of(node("a").cpu("8").memory("32Gi").taint("spot", "true", "PreferNoSchedule").build()), List.of());

            assertThat(c.nodeFit(CPU4, Map.of(), 100)).isEqualTo(2);
        }

        @Test
        void cordonedAndNotReadyNodesTakeNoNewWorkersButCouldLater() {
            NodeCapacity c = capacity(List.of(
                    node("cordoned").cpu("16").memory("64Gi").cordoned().taint("node.kubernetes.io/unschedulable", null, "NoSchedule").build(),
                    node("sick").cpu("16").memory("64Gi").notReady().taint("node.kubernetes.io/not-ready", null, "NoExecute").build()),
                    List.of());

            assertThat(c.nodeFit(CPU4, Map.of(), 100)).isZero();
            assertThat(c.couldEverFit(CPU4)).isTrue();
            assertThat(c.nodeCount()).isEqualTo(2);
            assertThat(c.cordonedNodeCount()).isEqualTo(1);
            assertThat(c.capacity().isEmpty()).as("capacity counts schedulable nodes only").isTrue();
        }
    }

    @Nested
    class Reservations {

        @Test
        void arePackedOntoTheFreeRoomBeforeCounting() {
            NodeCapacity c = capacity(List.of(
                    node("a").cpu("16").memory("64Gi").build(),
                    node("b").cpu("16").memory("64Gi").build()), List.of());

            assertThat(c.nodeFit(CPU4, Map.of(CPU4, 3), 100)).isEqualTo(5);
            assertThat(c.nodeFit(CPU4, Map.of(CPU4, 8), 100)).isZero();
            assertThat(c.nodeFit(CPU4, Map.of(CPU4, 20), 100)).as("reservations beyond the room do not go negative").isZero();
        }

        @Test
        void ofAnotherShapeFragmentTheNodes() {
            WorkerShape cpu12 = shape(Map.of("CPU", "12"));
            NodeCapacity c = capacity(List.of(
                    node("a").cpu("16").memory("64Gi").build(),
                    node("b").cpu("16").memory("64Gi").build()), List.of());

            // one 12-CPU worker goes onto a (4 left), so 12-CPU fit drops from 2 to 1 and 4-CPU fit from 8 to 5
            assertThat(c.nodeFit(cpu12, Map.of(cpu12, 1), 100)).isEqualTo(1);
            assertThat(c.nodeFit(CPU4, Map.of(cpu12, 1), 100)).isEqualTo(5);
        }

        @Test
        void onlyLandOnNodesTheirShapeMayUse() {
            WorkerShape gpuTolerating = new WorkerShape(GPU1.requests(), Map.of(),
                    List.of(new WorkerShape.Toleration("nvidia.com/gpu", "Exists", null, null)));
            NodeCapacity c = capacity(List.of(
                    node("cpu").cpu("16").memory("64Gi").build(),
                    node("gpu").cpu("48").memory("192Gi").gpus("4").taint("nvidia.com/gpu", "present", "NoSchedule").build()),
                    List.of());

            assertThat(c.nodeFit(CPU4, Map.of(gpuTolerating, 4), 100)).isEqualTo(4);
            assertThat(c.nodeFit(gpuTolerating, Map.of(gpuTolerating, 3), 100)).isEqualTo(1);
        }

        @Test
        void overAThousandNodesGiveTheSameAnswerAsCountingByHand() {
            List<Node> nodes = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                nodes.add(node(String.format("n-%04d", i)).cpu(i % 2 == 0 ? "16" : "8").memory("64Gi").pods("110").build());
            }
            NodeCapacity c = capacity(nodes, List.of());
            Map<WorkerShape, Integer> reservations = new HashMap<>();
            reservations.put(shape(Map.of("CPU", "8")), 700);
            reservations.put(shape(Map.of("CPU", "2", "memory", "1Gi")), 100);

            // 500 nodes × 16 + 500 × 8 = 12000 CPU; first fit by name puts the 700 8-CPU workers 2 + 1 per pair of
            // nodes, the 100 2-CPU workers on the next 8 free CPUs each: every node keeps a multiple of 4 CPUs free,
            // so 12000 − 5600 − 200 = 6200 CPU make 1550 4-CPU slots (memory, 4 × 16Gi per node, never binds)
            long fit = c.nodeFit(CPU4, reservations, Long.MAX_VALUE);

            assertThat(fit).isEqualTo(1550);
        }
    }

    @Nested
    class StaticCapacity {

        @Test
        void capsTheTotalThroughCapFit() {
            NodeCapacity c = NodeCapacity.of(List.of(node("a").cpu("64").memory("256Gi").build()), List.of(), GPU,
                    ResourceVector.ofQuantities(Map.of("CPU", "20")));

            assertThat(c.nodeFit(CPU4, Map.of(), 100)).isEqualTo(16);
            assertThat(c.capFit(CPU4, ResourceVector.EMPTY)).isEqualTo(5);
            assertThat(c.capFit(CPU4, ResourceVector.ofQuantities(Map.of("CPU", "12")))).isEqualTo(2);
            assertThat(c.capFit(CPU4, ResourceVector.ofQuantities(Map.of("CPU", "20")))).isZero();
            assertThat(c.capacity().get("CPU")).isEqualTo(20_000);
            assertThat(c.capacity().get("memory")).as("resources the cap does not name stay uncapped").isEqualTo(256L * (1L << 30) * 1000);
        }

        @Test
        void isUnlimitedWithoutACap() {
            assertThat(capacity(List.of(), List.of()).capFit(CPU4, ResourceVector.EMPTY)).isEqualTo(Long.MAX_VALUE);
        }

        @Test
        void inStaticModeIsTheWholeCapacity() {
            NodeCapacity c = NodeCapacity.staticOnly(ResourceVector.ofQuantities(Map.of("CPU", "512", "GPU", "16", "memory", "2Ti")),
                    ResourceVector.ofQuantities(Map.of("GPU", "15")));

            assertThat(c.known()).isTrue();
            assertThat(c.nodeCount()).isZero();
            assertThat(c.capacity().get("GPU")).isEqualTo(16_000);
            assertThat(c.allocated().get("GPU")).isEqualTo(15_000);
            assertThat(c.capFit(GPU1, ResourceVector.ofQuantities(Map.of("GPU", "15")))).isEqualTo(1);
            assertThat(c.nodeFit(GPU1, Map.of(GPU1, 15), 10)).as("equals capFit given the reservations").isEqualTo(1);
            assertThat(c.nodeFit(GPU8, Map.of(), 10)).isEqualTo(2);
            assertThat(c.couldEverFit(shape(Map.of("GPU", "17")))).isFalse();
            assertThat(c.couldEverFit(GPU8)).isTrue();
        }

        @Test
        void inStaticModeAResourceItDoesNotListIsAbsent() {
            NodeCapacity c = NodeCapacity.staticOnly(ResourceVector.ofQuantities(Map.of("CPU", "512", "memory", "2Ti")), ResourceVector.EMPTY);

            assertThat(c.couldEverFit(GPU1)).isFalse();
            assertThat(c.nodeFit(GPU1, Map.of(), 10)).isZero();
            assertThat(c.nodeFit(CPU4, Map.of(), 10)).isEqualTo(10);
        }
    }

    @Nested
    class UnknownCapacity {

        @Test
        void answersOptimistically() {
            NodeCapacity c = NodeCapacity.unknown(ResourceVector.EMPTY);

            assertThat(c.known()).isFalse();
            assertThat(c.nodeFit(GPU8, Map.of(GPU8, 100), 7)).isEqualTo(7);
            assertThat(c.capFit(GPU8, ResourceVector.EMPTY)).isEqualTo(Long.MAX_VALUE);
            assertThat(c.couldEverFit(GPU8)).isTrue();
            assertThat(c.capacity().isEmpty()).isTrue();
        }
    }

    @Test
    void couldEverFitLooksAtAllocatableNotAtUsage() {
        NodeCapacity c = capacity(List.of(node("a").cpu("8").memory("32Gi").build()),
                List.of(pod("ns", "hog", "a", Map.of("cpu", "8"))));

        assertThat(c.nodeFit(CPU4, Map.of(), 10)).isZero();
        assertThat(c.couldEverFit(CPU4)).isTrue();
        assertThat(c.couldEverFit(shape(Map.of("CPU", "9")))).isFalse();
    }
}
