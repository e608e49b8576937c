package dev.rayfederation.k8s.render;

import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.render.WorkerPodSpec;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

class RayNodeResourcesTest {

    private static RayNodeResources pool(Map<String, String> quantities, Map<String, Double> rayResources) {
        return RayNodeResources.ofPool(ResourceVector.ofQuantities(quantities), rayResources, Map.of("team", "search"),
                "vc-a");
    }

    private static WorkerPodSpec worker(Map<String, String> quantities, Map<String, Double> rayResources,
                                        Map<String, String> labels) {
        return new WorkerPodSpec("n-1", "p-n-1", "demo", "10.0.0.1:6379", "pool-x", "vc-a", "px", "m1", "r", "z",
                ResourceVector.ofQuantities(quantities), rayResources, labels, Map.of(), Map.of(), Map.of(), null, null,
                1, null);
    }

    @Test
    void halfACpuIsOneWholeCpuForTheAutoscalerAndForTheWorker() {
        RayNodeResources r = pool(Map.of("CPU", "500m"), Map.of());

        assertThat(r.resources()).containsExactly(entry("CPU", 1L));
        assertThat(r.rayStartFlags()).contains("--num-cpus=1");
    }

    @Test
    void fractionalCpusRoundUpWholeOnesStay() {
        assertThat(pool(Map.of("CPU", "1.5"), Map.of()).cpus()).isEqualTo(2);
        assertThat(pool(Map.of("CPU", "1001m"), Map.of()).cpus()).isEqualTo(2);
        assertThat(pool(Map.of("CPU", "2"), Map.of()).cpus()).isEqualTo(2);
        assertThat(pool(Map.of("CPU", "2000m"), Map.of()).cpus()).isEqualTo(2);
    }

    @Test
    void memoryIsInBytesBinaryAndDecimalSuffixesAlike() {
        assertThat(pool(Map.of("memory", "32Gi"), Map.of()).resources()).containsEntry("memory", 34_359_738_368L);
        assertThat(pool(Map.of("memory", "1500M"), Map.of()).resources()).containsEntry("memory", 1_500_000_000L);
        assertThat(pool(Map.of("memory", "1.5Gi"), Map.of()).rayStartFlags()).contains("--memory=1610612736");
    }

    @Test
    void aFractionOfAByteRoundsUp() {
        // 0.1Ki = 102.4 bytes
        assertThat(pool(Map.of("memory", "0.1Ki"), Map.of()).memoryBytes()).isEqualTo(103);
    }

    @Test
    void gpusAndCustomResourcesAreAdvertisedAsGivenAndExtendedResourcesAreNot() {
        RayNodeResources r = pool(Map.of("CPU", "8", "GPU", "2", "memory", "32Gi", "example.com/fpga", "1"),
                Map.of("pool-gpu", 1.0, "slots", 100.0));

        assertThat(r.resources()).containsExactly(entry("CPU", 8L), entry("GPU", 2L), entry("memory", 34_359_738_368L),
                entry("pool-gpu", 1L), entry("slots", 100L));
        assertThat(r.rayStartFlags()).containsExactly("--num-cpus=8", "--num-gpus=2", "--memory=34359738368",
                "--resources={\"pool-gpu\":1,\"slots\":100}", "--labels={\"ray-federation.io/virtual-cluster\":\"vc-a\",\"team\":\"search\"}");
    }

    @Test
    void whatThePoolDoesNotAskForIsZeroOnTheCommandLineAndAbsentFromTheNodeType() {
        RayNodeResources r = pool(Map.of("memory", "4Gi"), null);

        assertThat(r.resources()).containsOnlyKeys("memory");
        assertThat(r.rayStartFlags()).containsExactly("--num-cpus=0", "--num-gpus=0", "--memory=4294967296",
                "--labels={\"ray-federation.io/virtual-cluster\":\"vc-a\",\"team\":\"search\"}");
    }

    @Test
    void theWorkerCommandAndTheNodeTypeAgree() {
        Map<String, String> quantities = Map.of("CPU", "1500m", "GPU", "1", "memory", "1500M");
        Map<String, Double> custom = Map.of("edge", 3.0);
        WorkerPodSpec spec = worker(quantities, custom, Map.of("team", "search"));

        List<String> args = RayStartCommand.args(spec);
        RayNodeResources nodeType = pool(quantities, custom);

        assertThat(args).containsExactly("--address=10.0.0.1:6379", "--block", "--num-cpus=2", "--num-gpus=1",
                "--memory=1500000000", "--resources={\"edge\":3}",
                "--labels={\"ray-federation.io/virtual-cluster\":\"vc-a\",\"ray-federation.io/member\":\"m1\",\"team\":\"search\"}");
        assertThat(nodeType.resources()).isEqualTo(RayNodeResources.ofWorker(spec).resources());
        Map<String, String> workerLabels = new LinkedHashMap<>(RayStartCommand.rayLabels(spec));
        assertThat(workerLabels.remove("ray-federation.io/member")).isEqualTo("m1");
        assertThat(workerLabels).isEqualTo(nodeType.labels());
    }

    @Test
    void poolLabelsCannotReplaceTheVirtualClusterOrTheMember() {
        WorkerPodSpec spec = worker(Map.of("CPU", "1"), Map.of(),
                Map.of("ray-federation.io/virtual-cluster", "other", "ray-federation.io/member", "other", "a", "b"));

        assertThat(RayStartCommand.rayLabels(spec)).containsExactly(entry("ray-federation.io/virtual-cluster", "vc-a"),
                entry("ray-federation.io/member", "m1"), entry("a", "b"));
    }

    @Test
    void customResourcesRayWouldRefuseAreRefusedNamingTheResource() {
        assertThatThrownBy(() -> pool(Map.of("CPU", "1"), Map.of("slots", 0.5)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("rayResources.slots: must be a whole number");
        assertThatThrownBy(() -> pool(Map.of("CPU", "1"), Map.of("slots", 0.0)))
                .hasMessageStartingWith("rayResources.slots: must be > 0");
        assertThatThrownBy(() -> pool(Map.of("CPU", "1"), Map.of("slots", 2e14)))
                .hasMessageStartingWith("rayResources.slots: must be at most 100000000000000");
    }

    @Test
    void namesThatNeedQuotingSurviveAsJson() {
        RayNodeResources r = pool(Map.of("CPU", "1"), Map.of("it's \"x\"", 1.0));

        assertThat(r.rayStartFlags()).contains("--resources={\"it's \\\"x\\\"\":1}");
    }
}
