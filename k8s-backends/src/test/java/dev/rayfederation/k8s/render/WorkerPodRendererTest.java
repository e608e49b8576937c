package dev.rayfederation.k8s.render;

import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.resources.WorkerShape;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

class WorkerPodRendererTest {

    static final Map<String, Object> GPU_TEMPLATE = Map.of(
            "metadata", Map.of("labels", Map.of("team", "inference", "ray.io/group", "gpu", "ray.io/cluster", "demo")),
            "spec", Map.of("containers", List.of(Map.of(
                    "name", "ray-worker",
                    "image", "rayproject/ray:2.60.0-gpu",
                    "env", List.of(Map.of("name", "RAY_CLOUD_INSTANCE_ID", "value", "stale"), Map.of("name", "KEEP", "value", "me"))))));

    static WorkerPodSpec spec(Map<String, Object> template, Map<String, Object> override) {
        return new WorkerPodSpec("n-0001", "demo-gpu-l4-n-0001", "demo", "10.0.0.12:6379", "gpu-l4", "vc-inference", "gpu-l4",
                "gcp-usc1", "us-central1", "us-central1-a",
                ResourceVector.ofQuantities(Map.of("CPU", "8", "GPU", "1", "memory", "32Gi")),
                Map.of("pool-gpu-l4", 1.0), Map.of("accelerator", "l4"),
                template, override,
                Map.of("ray-user-node-type", "gpu-l4", "ray-node-type", "worker", "ray-launch-request", "r1"),
                "req-1", "abc123", 3, "nvidia.com/gpu");
    }

    static Container worker(Pod pod) {
        return pod.getSpec().getContainers().stream().filter(c -> c.getName().equals("ray-worker")).findFirst().orElseThrow();
    }

    static Map<String, String> env(Container c) {
        Map<String, String> env = new LinkedHashMap<>();
        for (EnvVar e : c.getEnv()) {
            env.put(e.getName(), e.getValue());
        }
        return env;
    }

    @Nested
    class TheWorkerPodContract {

        final Pod pod = WorkerPodRenderer.render(spec(GPU_TEMPLATE, Map.of()));

        @Test
        void carriesEveryContractLabelAndKeepsTemplateLabels() {
            assertThat(pod.getMetadata().getName()).isEqualTo("demo-gpu-l4-n-0001");
            assertThat(pod.getMetadata().getLabels())
                    .containsEntry("app.kubernetes.io/managed-by", "ray-federation")
                    .containsEntry("ray-federation.io/ray-cluster", "demo")
                    .containsEntry("ray-federation.io/node-id", "n-0001")
                    .containsEntry("ray-federation.io/pool", "gpu-l4")
                    .containsEntry("ray-federation.io/virtual-cluster", "vc-inference")
                    .containsEntry("ray-federation.io/node-type", "gpu-l4")
                    .containsEntry("team", "inference");
        }

        @Test
        void neverCarriesKubeRayLabelsSoKubeRayCannotAdoptThePod() {
            assertThat(pod.getMetadata().getLabels()).doesNotContainKeys("ray.io/group", "ray.io/cluster");
        }

        @Test
        void annotatesTagsAsSortedJsonAndTheRequest() {
            assertThat(pod.getMetadata().getAnnotations())
                    .containsEntry("ray-federation.io/tags",
                            "{\"ray-launch-request\":\"r1\",\"ray-node-type\":\"worker\",\"ray-user-node-type\":\"gpu-l4\"}")
                    .containsEntry("ray-federation.io/request-id", "req-1")
                    .containsEntry("ray-federation.io/request-hash", "abc123")
                    .containsEntry("ray-federation.io/request-count", "3");
        }

        @Test
        void setsTheRayEnvironmentReplacingTemplateEntriesOfTheSameName() {
            Map<String, String> env = env(worker(pod));
            assertThat(env)
                    .containsEntry("RAY_CLOUD_INSTANCE_ID", "n-0001")
                    .containsEntry("RAY_NODE_TYPE_NAME", "gpu-l4")
                    .containsEntry("RAY_NODE_REGION", "us-central1")
                    .containsEntry("RAY_NODE_ZONE", "us-central1-a")
                    .containsEntry("KEEP", "me")
                    .doesNotContainKey("RAY_FEDERATION_RAY_START_ARGS");
            assertThat(worker(pod).getEnv().stream().filter(e -> e.getName().equals("RAY_CLOUD_INSTANCE_ID"))).hasSize(1);
        }

        @Test
        void leavesRegionAndZoneOutWhenUnknown() {
            WorkerPodSpec s = spec(GPU_TEMPLATE, Map.of());
            WorkerPodSpec noPlace = new WorkerPodSpec(s.nodeId(), s.podName(), s.rayClusterName(), s.headAddress(), s.pool(),
                    s.virtualCluster(), s.rayNodeType(), s.member(), null, null, s.resources(), s.rayResources(), s.labels(),
                    s.template(), s.override(), s.tags(), null, null, 1, s.gpuResourceName());

            Pod p = WorkerPodRenderer.render(noPlace);

            assertThat(env(worker(p))).doesNotContainKeys("RAY_NODE_REGION", "RAY_NODE_ZONE");
            assertThat(p.getMetadata().getAnnotations()).doesNotContainKeys("ray-federation.io/request-id", "ray-federation.io/request-hash");
        }

        @Test
        void startsRayAgainstTheHeadWithThePoolsResourcesAndLabels() {
            Container c = worker(pod);
            assertThat(c.getCommand()).containsExactly("/bin/bash", "-lc");
            assertThat(c.getArgs()).containsExactly("ray start --address=10.0.0.12:6379 --block --num-cpus=8 --num-gpus=1"
                    + " --memory=34359738368 --resources='{\"pool-gpu-l4\":1}'"
                    + " --labels='{\"ray-federation.io/virtual-cluster\":\"vc-inference\",\"ray-federation.io/member\":\"gcp-usc1\",\"accelerator\":\"l4\"}'");
        }

        @Test
        void requestsAndLimitsThePoolsResourcesWithGpuAsTheMembersGpuResource() {
            Container c = worker(pod);
            Map<String, Quantity> expected = Map.of("cpu", new Quantity("8"), "memory", new Quantity("32Gi"), "nvidia.com/gpu", new Quantity("1"));
            assertThat(c.getResources().getRequests()).isEqualTo(expected);
            assertThat(c.getResources().getLimits()).isEqualTo(expected);
        }

        @Test
        void isNeverRestartedInPlace() {
            assertThat(pod.getSpec().getRestartPolicy()).isEqualTo("Never");
        }

        @Test
        void isReadyOnlyOnceItsRayletIsHealthy() {
            Probe probe = worker(pod).getReadinessProbe();

            assertThat(probe.getHttpGet().getPath()).isEqualTo("/api/local_raylet_healthz");
            assertThat(probe.getHttpGet().getPort().getIntVal()).isEqualTo(52365);
            assertThat(probe.getPeriodSeconds()).isEqualTo(5);
            assertThat(probe.getFailureThreshold()).isEqualTo(3);
            assertThat(worker(pod).getLivenessProbe()).as("no liveness probe: a worker that dies ends, Ray replaces it").isNull();
        }

        @Test
        void isAValidPodForTheKubernetesApi() {
            KubernetesSerialization serialization = new KubernetesSerialization();
            Pod roundTrip = serialization.unmarshal(serialization.asJson(pod), Pod.class);
            assertThat(roundTrip).isEqualTo(pod);
            assertThat(roundTrip.getKind()).isEqualTo("Pod");
            assertThat(roundTrip.getMetadata().getNamespace()).isNull();
        }
    }

    @Nested
    class MemberOverrides {

        @Test
        void takeTheNodeSelectorFromTheOverride() {
            Pod pod = WorkerPodRenderer.render(spec(GPU_TEMPLATE,
                    Map.of("spec", Map.of("nodeSelector", Map.of("cloud.google.com/gke-accelerator", "nvidia-l4")))));

            assertThat(pod.getSpec().getNodeSelector()).containsExactly(Map.entry("cloud.google.com/gke-accelerator", "nvidia-l4"));
            assertThat(worker(pod).getImage()).isEqualTo("rayproject/ray:2.60.0-gpu");
        }

        @Test
        void replaceTheWorkerImageByContainerNameKeepingTheRest() {
            Pod pod = WorkerPodRenderer.render(spec(GPU_TEMPLATE,
                    Map.of("spec", Map.of("containers", List.of(Map.of("name", "ray-worker", "image", "mirror.example/ray:2.60.0-gpu"))))));

            assertThat(pod.getSpec().getContainers()).hasSize(1);
            assertThat(worker(pod).getImage()).isEqualTo("mirror.example/ray:2.60.0-gpu");
            assertThat(env(worker(pod))).containsEntry("KEEP", "me");
        }
    }

    @Nested
    class Defaults {

        @Test
        void anEmptyTemplateGetsARayWorkerContainerWithRaysImage() {
            Pod pod = WorkerPodRenderer.render(spec(Map.of(), Map.of()));

            assertThat(pod.getSpec().getContainers()).singleElement().satisfies(c -> {
                assertThat(c.getName()).isEqualTo("ray-worker");
                assertThat(c.getImage()).isEqualTo(WorkerContainers.DEFAULT_IMAGE).isEqualTo("rayproject/ray:2.60.0");
            });
        }

        @Test
        void theFirstContainerIsTheWorkerWhenNoneIsNamedRayWorker() {
            Map<String, Object> template = Map.of("spec", Map.of("containers", List.of(
                    Map.of("name", "main", "image", "my/ray:1"), Map.of("name", "sidecar", "image", "busybox"))));

            Pod pod = WorkerPodRenderer.render(spec(template, Map.of()));

            assertThat(pod.getSpec().getContainers().get(0).getArgs()).singleElement().asString().startsWith("ray start ");
            assertThat(pod.getSpec().getContainers().get(1).getArgs()).isEmpty();
            assertThat(env(pod.getSpec().getContainers().get(1))).isEmpty();
        }

        @Test
        void aTemplateWithItsOwnCommandKeepsItAndGetsTheRayStartArgumentsInTheEnvironment() {
            Map<String, Object> template = Map.of("spec", Map.of("containers", List.of(Map.of(
                    "name", "ray-worker", "image", "my/ray:1", "command", List.of("/entrypoint.sh")))));

            Pod pod = WorkerPodRenderer.render(spec(template, Map.of()));

            assertThat(worker(pod).getCommand()).containsExactly("/entrypoint.sh");
            assertThat(worker(pod).getArgs()).isEmpty();
            assertThat(env(worker(pod)).get(WorkerPodContract.ENV_RAY_START_ARGS))
                    .startsWith("--address=10.0.0.12:6379 --block --num-cpus=8")
                    .contains("--resources='{\"pool-gpu-l4\":1}'");
        }

        @Test
        void aTemplatesOwnReadinessProbeIsKept() {
            Map<String, Object> template = Map.of("spec", Map.of("containers", List.of(Map.of(
                    "name", "ray-worker", "image", "my/ray:1",
                    "readinessProbe", Map.of("exec", Map.of("command", List.of("ray", "health-check")))))));

            Probe probe = worker(WorkerPodRenderer.render(spec(template, Map.of()))).getReadinessProbe();

            assertThat(probe.getExec().getCommand()).containsExactly("ray", "health-check");
            assertThat(probe.getHttpGet()).isNull();
        }

        @Test
        void aTemplateRestartPolicyIsOverriddenWithNever() {
            Pod pod = WorkerPodRenderer.render(spec(Map.of("spec", Map.of("restartPolicy", "Always")), Map.of()));

            assertThat(pod.getSpec().getRestartPolicy()).isEqualTo("Never");
        }

        @Test
        void meetsPodSecurityRestrictedAndMountsNoServiceAccountToken() {
            Pod pod = WorkerPodRenderer.render(spec(Map.of("spec", Map.of("initContainers", List.of(
                    Map.of("name", "setup", "image", "busybox")))), Map.of()));

            assertThat(pod.getSpec().getAutomountServiceAccountToken()).isFalse();
            assertThat(pod.getSpec().getSecurityContext().getRunAsNonRoot()).isTrue();
            assertThat(pod.getSpec().getSecurityContext().getRunAsUser()).isEqualTo(1000L);
            assertThat(pod.getSpec().getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
            List<Container> all = new java.util.ArrayList<>(pod.getSpec().getContainers());
            all.addAll(pod.getSpec().getInitContainers());
            assertThat(all).hasSize(2).allSatisfy(c -> {
                assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
                assertThat(c.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
            });
        }

        @Test
        void keepsWhatTheTemplateSaysAboutSecurity() {
            Pod pod = WorkerPodRenderer.render(spec(Map.of("spec", Map.of(
                    "automountServiceAccountToken", true,
                    "securityContext", Map.of("runAsUser", 0, "runAsNonRoot", false),
                    "containers", List.of(Map.of("name", "ray-worker", "image", "my/ray:1",
                            "securityContext", Map.of("privileged", true, "allowPrivilegeEscalation", true))))), Map.of()));

            assertThat(pod.getSpec().getAutomountServiceAccountToken()).isTrue();
            assertThat(pod.getSpec().getSecurityContext().getRunAsUser()).isZero();
            assertThat(pod.getSpec().getSecurityContext().getRunAsNonRoot()).isFalse();
            assertThat(worker(pod).getSecurityContext().getPrivileged()).isTrue();
            assertThat(worker(pod).getSecurityContext().getAllowPrivilegeEscalation()).isTrue();
        }

        @Test
        void aMissingRequiredFieldIsNamed() {
            WorkerPodSpec s = spec(Map.of(), Map.of());
            WorkerPodSpec noHead = new WorkerPodSpec(s.nodeId(), s.podName(), s.rayClusterName(), null, s.pool(),
                    s.virtualCluster(), s.rayNodeType(), s.member(), null, null, s.resources(), s.rayResources(), s.labels(),
                    s.template(), s.override(), s.tags(), null, null, 1, s.gpuResourceName());

            assertThatThrownBy(() -> WorkerPodRenderer.render(noHead))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage("WorkerPodSpec.headAddress: is required");
        }
    }

    @Nested
    class RayStartArguments {

        @Test
        void roundFractionalCpusUpAndPassCustomResourcesAsGiven() {
            WorkerPodSpec s = spec(Map.of(), Map.of());
            WorkerPodSpec half = new WorkerPodSpec(s.nodeId(), s.podName(), s.rayClusterName(), s.headAddress(), s.pool(),
                    s.virtualCluster(), s.rayNodeType(), s.member(), null, null,
                    ResourceVector.ofQuantities(Map.of("CPU", "1500m", "memory", "1Gi")), Map.of("a", 3.0, "b", 2.0), Map.of(),
                    Map.of(), Map.of(), Map.of(), null, null, 1, null);

            assertThat(WorkerPodRenderer.rayStartArgs(half)).containsExactly(
                    "--address=10.0.0.12:6379", "--block", "--num-cpus=2", "--num-gpus=0", "--memory=1073741824",
                    "--resources={\"a\":3,\"b\":2}",
                    "--labels={\"ray-federation.io/virtual-cluster\":\"vc-inference\",\"ray-federation.io/member\":\"gcp-usc1\"}");
        }

        @Test
        void passZeroForWhatThePoolDoesNotAskForSoRayDetectsNothing() {
            WorkerPodSpec s = spec(Map.of(), Map.of());
            WorkerPodSpec cpuOnly = new WorkerPodSpec(s.nodeId(), s.podName(), s.rayClusterName(), s.headAddress(), s.pool(),
                    s.virtualCluster(), s.rayNodeType(), s.member(), null, null,
                    ResourceVector.ofQuantities(Map.of("CPU", "4")), Map.of(), Map.of(), Map.of(), Map.of(), Map.of(), null, null, 1, null);

            assertThat(WorkerPodRenderer.rayStartArgs(cpuOnly)).contains("--num-cpus=4", "--num-gpus=0", "--memory=0")
                    .noneMatch(a -> a.startsWith("--resources"));
        }

        @Test
        void surviveABashRoundTripEvenWithQuotesInNames() throws Exception {
            assumeThat(new java.io.File("/bin/bash")).exists();
            WorkerPodSpec s = spec(Map.of(), Map.of());
            WorkerPodSpec odd = new WorkerPodSpec(s.nodeId(), s.podName(), s.rayClusterName(), s.headAddress(), s.pool(),
                    s.virtualCluster(), s.rayNodeType(), s.member(), null, null, s.resources(),
                    Map.of("it's \"special\" $HOME", 1.0), Map.of("x", "y"), Map.of(), Map.of(), Map.of(), null, null, 1, null);
            Container c = worker(WorkerPodRenderer.render(odd));
            String line = c.getArgs().get(0);
            assertThat(line).startsWith("ray start ");

            List<String> parsed = bashWords(line.substring("ray start ".length()));

            assertThat(parsed).isEqualTo(WorkerPodRenderer.rayStartArgs(odd));
        }

        private List<String> bashWords(String quoted) throws IOException, InterruptedException {
            Process p = new ProcessBuilder("/bin/bash", "-c", "printf '%s\\n' " + quoted).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            return new ArrayList<>(out.lines().collect(Collectors.toList()));
        }
    }

    @Nested
    class Shapes {

        @Test
        void requestThePoolsResourcesPlusOtherContainersUnderRayNames() {
            Map<String, Object> template = Map.of("spec", Map.of("containers", List.of(
                    Map.of("name", "ray-worker", "image", "ray"),
                    Map.of("name", "log", "image", "fluent-bit", "resources", Map.of("requests", Map.of("cpu", "100m", "memory", "64Mi"))))));

            WorkerShape shape = WorkerPodRenderer.shape(template, Map.of(),
                    ResourceVector.ofQuantities(Map.of("CPU", "8", "GPU", "1", "memory", "32Gi")), "nvidia.com/gpu");

            assertThat(shape.requests()).isEqualTo(ResourceVector.ofQuantities(Map.of("CPU", "8100m", "GPU", "1", "memory", "32832Mi")));
        }

        @Test
        void takeNodeSelectorAndTolerationsFromTheMergedTemplate() {
            Map<String, Object> template = Map.of("spec", Map.of("tolerations", List.of(
                    Map.of("key", "nvidia.com/gpu", "operator", "Exists", "effect", "NoSchedule"))));
            Map<String, Object> override = Map.of("spec", Map.of("nodeSelector", Map.of("cloud.google.com/gke-accelerator", "nvidia-l4")));

            WorkerShape shape = WorkerPodRenderer.shape(template, override, ResourceVector.ofQuantities(Map.of("CPU", "1")), null);

            assertThat(shape.nodeSelector()).isEqualTo(Map.of("cloud.google.com/gke-accelerator", "nvidia-l4"));
            assertThat(shape.tolerations()).containsExactly(new WorkerShape.Toleration("nvidia.com/gpu", "Exists", null, "NoSchedule"));
        }

        @Test
        void mapGpusToTheConfiguredResourceName() {
            WorkerShape shape = WorkerPodRenderer.shape(Map.of(), Map.of(), ResourceVector.ofQuantities(Map.of("GPU", "2")), "amd.com/gpu");
            WorkerPodSpec s = spec(Map.of(), Map.of());
            Pod pod = WorkerPodRenderer.render(new WorkerPodSpec(s.nodeId(), s.podName(), s.rayClusterName(), s.headAddress(), s.pool(),
                    s.virtualCluster(), s.rayNodeType(), s.member(), null, null, ResourceVector.ofQuantities(Map.of("GPU", "2")),
                    Map.of(), Map.of(), Map.of(), Map.of(), Map.of(), null, null, 1, "amd.com/gpu"));

            assertThat(shape.requests().get("GPU")).isEqualTo(2000);
            assertThat(worker(pod).getResources().getLimits()).containsEntry("amd.com/gpu", new Quantity("2"))
                    .doesNotContainKey("nvidia.com/gpu");
        }
    }

    @Nested
    class TemplateValidation {

        @Test
        void acceptsARealisticTemplate() {
            assertThat(WorkerPodRenderer.validateTemplate(GPU_TEMPLATE, "pools[0].template")).isEmpty();
            assertThat(WorkerPodRenderer.validateTemplate(Map.of(), "pools[0].template")).isEmpty();
            assertThat(WorkerPodRenderer.validateTemplate(null, "pools[0].template")).isEmpty();
        }

        @Test
        void acceptsAnOverrideThatOnlyPatchesTheWorkerContainer() {
            Map<String, Object> override = Map.of("spec", Map.of("containers", List.of(Map.of("name", "ray-worker",
                    "env", List.of(Map.of("name", "HTTP_PROXY", "value", "http://proxy:3128"))))));

            assertThat(WorkerPodRenderer.validateTemplate(override, "pools[0].overrides.gcp-usc1")).isEmpty();
        }

        @Test
        void acceptsAnOverrideThatDeletesANamedItem() {
            Map<String, Object> override = Map.of("spec", Map.of("containers", List.of(
                    Map.of("name", "ray-worker", "image", "mirror.example/ray:2.60.0"),
                    Map.of("name", "log-shipper", "$patch", "delete"))));

            assertThat(WorkerPodRenderer.validateTemplate(override, "pools[0].overrides.aws")).isEmpty();
        }

        @Test
        void namesTheFieldWithTheWrongType() {
            assertThat(WorkerPodRenderer.validateTemplate(Map.of("spec", Map.of("containers", "ray")), "pools[0].template"))
                    .containsExactly("pools[0].template.spec.containers: must be a list");
            assertThat(WorkerPodRenderer.validateTemplate(Map.of("spec", Map.of("nodeSelector", List.of("a"))), "pools[1].template"))
                    .containsExactly("pools[1].template.spec.nodeSelector: must be a map");
            assertThat(WorkerPodRenderer.validateTemplate(Map.of("spec", Map.of("containers", List.of(Map.of("name", "w",
                    "ports", List.of(Map.of("containerPort", "http")))))), "t"))
                    .containsExactly("t.spec.containers[0].ports[0].containerPort: must be an integer");
        }

        @Test
        void requiresNameAndImageOfContainersOtherThanTheWorker() {
            Map<String, Object> template = Map.of("spec", Map.of("containers", List.of(
                    Map.of("name", "ray-worker"), Map.of("image", "busybox"), Map.of("name", "log"))));

            assertThat(WorkerPodRenderer.validateTemplate(template, "pools[0].template")).containsExactly(
                    "pools[0].template.spec.containers[1].name: is required",
                    "pools[0].template.spec.containers[2].image: is required");
        }

        @Test
        void reportsUnknownFieldsTyposAndBadQuantities() {
            Map<String, Object> spec = new HashMap<>();
            spec.put("contianers", List.of());
            spec.put("containers", List.of(Map.of("name", "ray-worker", "image", "ray",
                    "resources", Map.of("requests", Map.of("ephemeral-storage", "lots")))));
            spec.put("tolerations", List.of(Map.of("key", "a", "operator", "Maybe")));

            assertThat(WorkerPodRenderer.validateTemplate(Map.of("kind", "Pod", "spec", spec), "p")).containsExactlyInAnyOrder(
                    "p.kind: unknown field (a pod template has only metadata and spec)",
                    "p.spec.contianers: unknown field",
                    "p.spec.containers[0].resources.requests.ephemeral-storage: 'lots' is not a Kubernetes quantity (examples: 8, 500m, 32Gi)",
                    "p.spec.tolerations[0].operator: must be Exists or Equal, not 'Maybe'");
        }

        @Test
        void checksTheTemplateAsMergedWithAnOverride() {
            Map<String, Object> override = Map.of("spec", Map.of("containers", List.of(Map.of("name", "log"))));

            assertThat(WorkerPodRenderer.validateMerged(GPU_TEMPLATE, override, "pools[0].overrides.aws"))
                    .containsExactly("pools[0].overrides.aws.spec.containers[1].image: is required");
        }
    }
}
