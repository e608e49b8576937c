package dev.rayfederation.k8s.render;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ProbePodRendererTest {

    /** A GPU pool's template: its image, where its pods may run, and a pod security context of its own. */
    static final Map<String, Object> TEMPLATE = Map.of(
            "metadata", Map.of("labels", Map.of("team", "inference")),
            "spec", Map.of(
                    "serviceAccountName", "workers",
                    "nodeSelector", Map.of("accelerator", "l4"),
                    "tolerations", List.of(Map.of("key", "nvidia.com/gpu", "operator", "Exists", "effect", "NoSchedule")),
                    "imagePullSecrets", List.of(Map.of("name", "registry")),
                    "volumes", List.of(Map.of("name", "data", "emptyDir", Map.of())),
                    "containers", List.of(Map.of(
                            "name", "ray-worker",
                            "image", "rayproject/ray:2.60.0-gpu",
                            "imagePullPolicy", "IfNotPresent",
                            "volumeMounts", List.of(Map.of("name", "data", "mountPath", "/data"))))));

    static ProbePodSpec spec(String image, Map<String, Object> template, Map<String, Object> override) {
        return new ProbePodSpec("demo-preflight-x1", "demo", "gcp-usc1", "10.0.0.12:6379", 10002, Duration.ofSeconds(120),
                image, template, override);
    }

    static Container probe(Pod pod) {
        assertThat(pod.getSpec().getContainers()).hasSize(1);
        return pod.getSpec().getContainers().get(0);
    }

    @Test
    @DisplayName("labelled as a probe of the Ray cluster, never with the workers' selector labels")
    void labels() {
        Pod pod = ProbePodRenderer.render(spec(null, TEMPLATE, Map.of()));
        Map<String, String> labels = pod.getMetadata().getLabels();
        assertThat(labels).containsEntry(ProbePodRenderer.LABEL_PREFLIGHT_OF, "demo")
                .containsEntry(ProbePodRenderer.LABEL_MEMBER, "gcp-usc1")
                .containsEntry(WorkerPodContract.LABEL_MANAGED_BY, WorkerPodContract.MANAGED_BY_VALUE)
                .doesNotContainKeys(WorkerPodContract.LABEL_RAY_CLUSTER, WorkerPodContract.LABEL_NODE_ID,
                        WorkerPodContract.LABEL_POOL, "team");
        assertThat(labels.entrySet().containsAll(WorkerPodContract.selector("demo").entrySet()))
                .as("the workers' informer selects on all of these").isFalse();
        assertThat(pod.getMetadata().getName()).isEqualTo("demo-preflight-x1");
        assertThat(pod.getMetadata().getNamespace()).isNull();
    }

    @Test
    @DisplayName("runs python3 with the probe script, the head address, its port and timeout, and its own pod IP")
    void command() {
        Container c = probe(ProbePodRenderer.render(spec(null, TEMPLATE, Map.of())));
        assertThat(c.getName()).isEqualTo(ProbePodRenderer.CONTAINER);
        assertThat(c.getCommand()).containsExactly("python3", "-c", ProbePodRenderer.SCRIPT);
        assertThat(ProbePodRenderer.SCRIPT).contains("create_server", "create_connection", "/dev/termination-log");
        Map<String, EnvVar> env = new java.util.HashMap<>();
        c.getEnv().forEach(e -> env.put(e.getName(), e));
        assertThat(env.get(ProbePodRenderer.ENV_HEAD).getValue()).isEqualTo("10.0.0.12:6379");
        assertThat(env.get(ProbePodRenderer.ENV_PORT).getValue()).isEqualTo("10002");
        assertThat(env.get(ProbePodRenderer.ENV_TIMEOUT).getValue()).isEqualTo("120");
        assertThat(env.get(ProbePodRenderer.ENV_POD_IP).getValueFrom().getFieldRef().getFieldPath()).isEqualTo("status.podIP");
        assertThat(c.getTerminationMessagePolicy()).isEqualTo("FallbackToLogsOnError");
    }

    @Test
    @DisplayName("the pool's image by default, the configured one when given")
    void image() {
        Container fromPool = probe(ProbePodRenderer.render(spec(null, TEMPLATE, Map.of())));
        assertThat(fromPool.getImage()).isEqualTo("rayproject/ray:2.60.0-gpu");
        assertThat(fromPool.getImagePullPolicy()).isEqualTo("IfNotPresent");
        Container overridden = probe(ProbePodRenderer.render(spec(null, TEMPLATE,
                Map.of("spec", Map.of("containers", List.of(Map.of("name", "ray-worker", "image", "mirror/ray:2.60.0-gpu")))))));
        assertThat(overridden.getImage()).as("the member's override applies").isEqualTo("mirror/ray:2.60.0-gpu");
        assertThat(probe(ProbePodRenderer.render(spec("python:3.12-slim", TEMPLATE, Map.of()))).getImage())
                .isEqualTo("python:3.12-slim");
        assertThat(probe(ProbePodRenderer.render(spec(null, Map.of(), Map.of()))).getImage())
                .isEqualTo(WorkerContainers.DEFAULT_IMAGE);
    }

    @Test
    @DisplayName("tiny requests and limits; runs where the pool's workers would, and nothing else of the template")
    void resourcesAndPlacement() {
        Pod pod = ProbePodRenderer.render(spec(null, TEMPLATE, Map.of()));
        Container c = probe(pod);
        assertThat(c.getResources().getRequests()).containsEntry("cpu", new Quantity("10m")).containsEntry("memory", new Quantity("32Mi"))
                .doesNotContainKey("nvidia.com/gpu");
        assertThat(c.getResources().getLimits()).containsEntry("cpu", new Quantity("200m")).containsEntry("memory", new Quantity("128Mi"));
        assertThat(pod.getSpec().getNodeSelector()).containsEntry("accelerator", "l4");
        assertThat(pod.getSpec().getTolerations()).singleElement().satisfies(t -> assertThat(t.getKey()).isEqualTo("nvidia.com/gpu"));
        assertThat(pod.getSpec().getImagePullSecrets()).singleElement().satisfies(s -> assertThat(s.getName()).isEqualTo("registry"));
        assertThat(pod.getSpec().getVolumes()).isEmpty();
        assertThat(c.getVolumeMounts()).isEmpty();
        assertThat(pod.getSpec().getServiceAccountName()).isNull();
        assertThat(pod.getSpec().getRestartPolicy()).isEqualTo("Never");
        assertThat(pod.getSpec().getActiveDeadlineSeconds()).as("Kubernetes ends it even if the sidecar is gone")
                .isEqualTo(120 + ProbePodRenderer.DEADLINE_SLACK_SECONDS);
        assertThat(pod.getSpec().getEnableServiceLinks()).isFalse();
    }

    @Test
    @DisplayName("no privileges: non-root, no service account token, no privilege escalation, no capabilities, read-only root")
    void security() {
        Pod pod = ProbePodRenderer.render(spec(null, TEMPLATE, Map.of()));
        assertThat(pod.getSpec().getAutomountServiceAccountToken()).isFalse();
        assertThat(pod.getSpec().getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(pod.getSpec().getSecurityContext().getRunAsUser()).isEqualTo(PodSecurityDefaults.RAY_UID);
        assertThat(pod.getSpec().getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
        Container c = probe(pod);
        assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(c.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(c.getSecurityContext().getPrivileged()).isNull();
    }

    @Test
    @DisplayName("an image that must run as root keeps the pool template's pod security context")
    void rootWhereThePoolSaysSo() {
        Map<String, Object> asRoot = Map.of("spec", Map.of("securityContext", Map.of("runAsNonRoot", false, "runAsUser", 0),
                "containers", List.of(Map.of("name", "ray-worker", "image", "corp/ray-root:1"))));
        Pod pod = ProbePodRenderer.render(spec(null, asRoot, Map.of()));
        assertThat(pod.getSpec().getSecurityContext().getRunAsNonRoot()).isFalse();
        assertThat(pod.getSpec().getSecurityContext().getRunAsUser()).isZero();
        assertThat(pod.getSpec().getAutomountServiceAccountToken()).isFalse();
    }
}
