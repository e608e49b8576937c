package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.render.WorkerPodRenderer;
import dev.rayfederation.k8s.render.WorkerPodSpec;
import dev.rayfederation.k8s.resources.ResourceVector;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class WorkerPodsTest {

    static final WorkerPodSpec SPEC = new WorkerPodSpec("n-7", "demo-cpu-n-7", "demo", "10.0.0.1:6379", "cpu-small", "vc-batch",
            "cpu-small", "aws-use1", null, null, ResourceVector.ofQuantities(Map.of("CPU", "4", "memory", "16Gi")), Map.of(), Map.of(),
            Map.of(), Map.of(), Map.of("ray-node-type", "worker", "ray-user-node-type", "cpu-small"), "req-9", "h", 2, null);

    static Pod rendered() {
        return new PodBuilder(WorkerPodRenderer.render(SPEC))
                .editMetadata().withUid("uid-1").withCreationTimestamp("2026-01-02T03:04:05Z").endMetadata()
                .build();
    }

    @Test
    void readsBackEverythingTheRendererWrote() {
        WorkerPod w = WorkerPods.from("aws-use1", rendered(), "nvidia.com/gpu");

        assertThat(w.member()).isEqualTo("aws-use1");
        assertThat(w.podName()).isEqualTo("demo-cpu-n-7");
        assertThat(w.uid()).isEqualTo("uid-1");
        assertThat(w.nodeId()).isEqualTo("n-7");
        assertThat(w.pool()).isEqualTo("cpu-small");
        assertThat(w.virtualCluster()).isEqualTo("vc-batch");
        assertThat(w.rayNodeType()).isEqualTo("cpu-small");
        assertThat(w.tags()).isEqualTo(Map.of("ray-node-type", "worker", "ray-user-node-type", "cpu-small"));
        assertThat(w.requestId()).isEqualTo("req-9");
        assertThat(w.requestHash()).isEqualTo("h");
        assertThat(w.requestCount()).isEqualTo(2);
        assertThat(w.created()).isEqualTo(Instant.parse("2026-01-02T03:04:05Z"));
        assertThat(w.requests()).isEqualTo(ResourceVector.ofQuantities(Map.of("CPU", "4", "memory", "16Gi")));
        assertThat(w.bound()).isFalse();
        assertThat(w.ready()).isFalse();
        assertThat(w.condition()).isNull();
        assertThat(w.deleting()).isFalse();
    }

    @Test
    void aRunningReadyPodIsReadyWithItsAddresses() {
        Pod pod = new PodBuilder(rendered())
                .editSpec().withNodeName("ip-10-0-1-7").endSpec()
                .withNewStatus().withPhase("Running").withPodIP("10.1.2.3").withHostIP("10.0.1.7")
                .addToConditions(new PodConditionBuilder().withType("Ready").withStatus("True").build())
                .endStatus().build();

        WorkerPod w = WorkerPods.from("aws-use1", pod, null);

        assertThat(w.ready()).isTrue();
        assertThat(w.phase()).isEqualTo("Running");
        assertThat(w.podIp()).isEqualTo("10.1.2.3");
        assertThat(w.hostIp()).isEqualTo("10.0.1.7");
        assertThat(w.kubeNode()).isEqualTo("ip-10-0-1-7");
        assertThat(w.bound()).isTrue();
    }

    @Test
    void anUnschedulablePodSaysWhy() {
        Pod pod = new PodBuilder(rendered()).withNewStatus().withPhase("Pending")
                .addToConditions(new PodConditionBuilder().withType("PodScheduled").withStatus("False").withReason("Unschedulable")
                        .withMessage("0/4 nodes are available: 4 Insufficient nvidia.com/gpu").build())
                .endStatus().build();

        WorkerPod w = WorkerPods.from("gcp", pod, null);

        assertThat(w.condition()).isEqualTo(WorkerPod.Condition.UNSCHEDULABLE);
        assertThat(w.message()).isEqualTo("0/4 nodes are available: 4 Insufficient nvidia.com/gpu");
    }

    @Test
    void imagePullAndCrashLoopComeFromContainerWaitingReasons() {
        Pod pulling = new PodBuilder(rendered()).withNewStatus().withPhase("Pending")
                .addToContainerStatuses(new ContainerStatusBuilder().withName("ray-worker").withNewState().withNewWaiting()
                        .withReason("ImagePullBackOff").withMessage("Back-off pulling image").endWaiting().endState().build())
                .endStatus().build();
        Pod crashing = new PodBuilder(rendered()).withNewStatus().withPhase("Running")
                .addToInitContainerStatuses(new ContainerStatusBuilder().withName("init").withNewState().withNewWaiting()
                        .withReason("CreateContainerConfigError").withMessage("secret \"x\" not found").endWaiting().endState().build())
                .endStatus().build();

        assertThat(WorkerPods.from("m", pulling, null).condition()).isEqualTo(WorkerPod.Condition.IMAGE_PULL);
        assertThat(WorkerPods.from("m", pulling, null).message()).contains("Back-off pulling image");
        assertThat(WorkerPods.from("m", crashing, null).condition()).isEqualTo(WorkerPod.Condition.CRASH_LOOP);
        assertThat(WorkerPods.from("m", crashing, null).message()).contains("secret \"x\" not found");
    }

    @Test
    void evictionIsSeenFromTheReasonOrADisruptionTarget() {
        Pod evicted = new PodBuilder(rendered()).withNewStatus().withPhase("Failed").withReason("Evicted")
                .withMessage("The node was low on resource: memory.").endStatus().build();
        Pod preempted = new PodBuilder(rendered()).withNewStatus().withPhase("Running")
                .addToConditions(new PodConditionBuilder().withType("DisruptionTarget").withStatus("True")
                        .withReason("PreemptionByScheduler").build())
                .endStatus().build();

        assertThat(WorkerPods.from("m", evicted, null).condition()).isEqualTo(WorkerPod.Condition.EVICTED);
        assertThat(WorkerPods.from("m", evicted, null).terminated()).isTrue();
        assertThat(WorkerPods.from("m", preempted, null).condition()).isEqualTo(WorkerPod.Condition.EVICTED);
        assertThat(WorkerPods.from("m", preempted, null).message()).isEqualTo("PreemptionByScheduler");
    }

    @Test
    void unreadableAnnotationsDoNotBreakTheTranslation() {
        Pod pod = new PodBuilder(rendered()).editMetadata()
                .addToAnnotations("ray-federation.io/tags", "{not json")
                .addToAnnotations("ray-federation.io/request-count", "many")
                .withDeletionTimestamp("2026-01-02T03:05:00Z")
                .endMetadata().build();

        WorkerPod w = WorkerPods.from("m", pod, null);

        assertThat(w.tags()).isEmpty();
        assertThat(w.requestCount()).isZero();
        assertThat(w.deleting()).isTrue();
    }
}
