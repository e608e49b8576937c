package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.render.Json;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class TrimmingItemStoreTest {

    /** Every field the translation reads, set; plus what a member adds that the sidecar never reads. */
    private static List<Pod> workerPods() {
        Pod running = new PodBuilder(WorkerPodsTest.rendered())
                .editMetadata().withNamespace("ray").withResourceVersion("42").withDeletionTimestamp("2026-01-02T03:05:00Z")
                .addToLabels("team", "ml").addToAnnotations("kubectl.kubernetes.io/last-applied-configuration", "{}")
                .endMetadata()
                .editSpec().withNodeName("ip-10-0-1-7").withOverhead(Map.of("cpu", new Quantity("250m")))
                .addToInitContainers(new ContainerBuilder().withName("log-shipper").withRestartPolicy("Always")
                        .withNewResources().addToRequests("cpu", new Quantity("500m")).endResources().build())
                .endSpec()
                .withNewStatus().withPhase("Running").withPodIP("10.1.2.3").withHostIP("10.0.1.7")
                .addToConditions(new PodConditionBuilder().withType("Ready").withStatus("True")
                        .withLastTransitionTime("2026-01-02T03:04:30Z").build())
                .addToContainerStatuses(new ContainerStatusBuilder().withName("ray-worker").withImage("rayproject/ray:2.60.0")
                        .withImageID("sha256:abc").withContainerID("containerd://1").withNewState().withNewRunning()
                        .withStartedAt("2026-01-02T03:04:20Z").endRunning().endState().build())
                .endStatus().build();
        Pod crashing = new PodBuilder(WorkerPodsTest.rendered()).withNewStatus().withPhase("Running")
                .addToInitContainerStatuses(new ContainerStatusBuilder().withName("init").withNewState().withNewWaiting()
                        .withReason("CreateContainerConfigError").withMessage("secret \"x\" not found").endWaiting().endState().build())
                .addToContainerStatuses(new ContainerStatusBuilder().withName("ray-worker").withNewState().withNewWaiting()
                        .withReason("ImagePullBackOff").withMessage("Back-off pulling image").endWaiting().endState().build())
                .endStatus().build();
        Pod unschedulable = new PodBuilder(WorkerPodsTest.rendered()).withNewStatus().withPhase("Pending")
                .addToConditions(new PodConditionBuilder().withType("PodScheduled").withStatus("False").withReason("Unschedulable")
                        .withMessage("0/4 nodes are available").build())
                .endStatus().build();
        Pod evicted = new PodBuilder(WorkerPodsTest.rendered()).withNewStatus().withPhase("Failed").withReason("Evicted")
                .withMessage("The node was low on resource: memory.").endStatus().build();
        return List.of(running, crashing, unschedulable, evicted, WorkerPodsTest.rendered(), new Pod());
    }

    @Test
    void aTrimmedWorkerPodTranslatesExactlyAsTheWholePod() {
        for (Pod pod : workerPods()) {
            assertThat(WorkerPods.from("aws", TrimmingItemStore.trimWorker(pod), "nvidia.com/gpu"))
                    .isEqualTo(WorkerPods.from("aws", pod, "nvidia.com/gpu"));
        }
    }

    @Test
    void theStoreKeepsTheTrimmedCopyUnderTheInformersKey() throws Exception {
        TrimmingItemStore<Pod> store = TrimmingItemStore.forWorkers();
        Pod pod = workerPods().get(0);
        String key = store.getKey(pod);

        store.put(key, pod);

        Pod kept = store.get(key);
        assertThat(key).isEqualTo("ray/demo-cpu-n-7");
        assertThat(kept.getMetadata().getResourceVersion()).isEqualTo("42");
        assertThat(kept.getSpec().getContainers()).allSatisfy(c -> {
            assertThat(c.getCommand()).isEmpty();
            assertThat(c.getEnv()).isEmpty();
        });
        assertThat(Json.MAPPER.writeValueAsString(kept).length())
                .isLessThan(Json.MAPPER.writeValueAsString(pod).length() / 2);
    }
}
