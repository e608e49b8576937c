package dev.rayfederation.k8s.render;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.SecurityContext;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders the network preflight's probe pod: one container running {@code python3} (every Ray image has it) with
 * the probe script, which dials the head's GCS address and listens for the sidecar's dial-back. The pod is meant to
 * be invisible to everything that counts workers and harmless where it runs:
 * <ul>
 *   <li>labels {@value #LABEL_PREFLIGHT_OF} (the Ray cluster) and {@value #LABEL_MEMBER}, never the worker
 *       contract's {@link WorkerPodContract#LABEL_RAY_CLUSTER}: the workers' informer does not see it;</li>
 *   <li>tiny requests and limits, {@code restartPolicy: Never}, an {@code activeDeadlineSeconds} a little past the
 *       probe's timeout (Kubernetes ends it even if the sidecar is gone), no service links;</li>
 *   <li>the pool template's image (or the configured one), node selector, tolerations, affinity, image pull
 *       secrets and pod security context, so it runs where and as the pool's workers would; nothing else of the
 *       template (no volumes, no sidecars, no service account);</li>
 *   <li>no privileges: PodSecurity {@code restricted} defaults ({@link PodSecurityDefaults}: non-root unless the
 *       template says otherwise, no service account token), a read-only root filesystem.</li>
 * </ul>
 */
public final class ProbePodRenderer {

    public static final String LABEL_PREFLIGHT_OF = "ray-federation.io/preflight-of";
    public static final String LABEL_MEMBER = "ray-federation.io/member";
    public static final String CONTAINER = "preflight";
    public static final String ENV_HEAD = "RAY_FEDERATION_HEAD";
    public static final String ENV_PORT = "RAY_FEDERATION_PROBE_PORT";
    public static final String ENV_TIMEOUT = "RAY_FEDERATION_PROBE_TIMEOUT_SECONDS";
    public static final String ENV_POD_IP = "POD_IP";
    /** Seconds Kubernetes lets the pod run past the probe's own timeout before ending it. */
    static final long DEADLINE_SLACK_SECONDS = 30;
    public static final String SCRIPT = loadScript();

    private ProbePodRenderer() {
    }

    /** Label selector that finds every probe pod of one Ray cluster in a member. */
    public static Map<String, String> selector(String rayClusterName) {
        return Map.of(WorkerPodContract.LABEL_MANAGED_BY, WorkerPodContract.MANAGED_BY_VALUE,
                LABEL_PREFLIGHT_OF, rayClusterName);
    }

    /**
     * The probe pod; its namespace is left unset (the member creates it in its own).
     *
     * @throws IllegalArgumentException when the merged template is not a pod template
     */
    public static Pod render(ProbePodSpec spec) {
        PodSpec from = PodTemplates.toPodTemplate(StrategicMerge.apply(spec.template(), spec.override()), "template")
                .getSpec();
        from = from == null ? new PodSpec() : from;
        Container worker = WorkerContainers.workerOf(from);
        String image = spec.image() == null || spec.image().isBlank() ? worker.getImage() : spec.image();
        Container probe = new ContainerBuilder()
                .withName(CONTAINER)
                .withImage(image)
                .withImagePullPolicy(spec.image() == null || spec.image().isBlank() ? worker.getImagePullPolicy() : null)
                .withCommand("python3", "-c", SCRIPT)
                .withEnv(env(spec))
                .withResources(new ResourceRequirementsBuilder()
                        .withRequests(Map.of("cpu", new Quantity("10m"), "memory", new Quantity("32Mi")))
                        .withLimits(Map.of("cpu", new Quantity("200m"), "memory", new Quantity("128Mi")))
                        .build())
                .withTerminationMessagePolicy("FallbackToLogsOnError")
                .build();
        SecurityContext sc = new SecurityContext();
        sc.setReadOnlyRootFilesystem(true);
        probe.setSecurityContext(sc);
        PodSpec podSpec = new PodSpecBuilder()
                .withContainers(probe)
                .withRestartPolicy("Never")
                .withActiveDeadlineSeconds(spec.timeout().toSeconds() + DEADLINE_SLACK_SECONDS)
                .withTerminationGracePeriodSeconds(1L)
                .withEnableServiceLinks(false)
                .withNodeSelector(from.getNodeSelector())
                .withTolerations(from.getTolerations())
                .withAffinity(from.getAffinity())
                .withImagePullSecrets(from.getImagePullSecrets())
                .withSecurityContext(from.getSecurityContext())
                .build();
        PodSecurityDefaults.apply(podSpec);
        Map<String, String> labels = new LinkedHashMap<>(selector(spec.rayClusterName()));
        labels.put(LABEL_MEMBER, spec.member());
        return new io.fabric8.kubernetes.api.model.PodBuilder()
                .withMetadata(new ObjectMetaBuilder().withName(spec.podName()).withLabels(labels).build())
                .withSpec(podSpec)
                .build();
    }

    private static List<EnvVar> env(ProbePodSpec spec) {
        List<EnvVar> env = new ArrayList<>();
        env.add(new EnvVarBuilder().withName(ENV_HEAD).withValue(spec.headAddress()).build());
        env.add(new EnvVarBuilder().withName(ENV_PORT).withValue(Integer.toString(spec.port())).build());
        env.add(new EnvVarBuilder().withName(ENV_TIMEOUT).withValue(Long.toString(spec.timeout().toSeconds())).build());
        env.add(new EnvVarBuilder().withName(ENV_POD_IP).withNewValueFrom().withNewFieldRef()
                .withFieldPath("status.podIP").endFieldRef().endValueFrom().build());
        return env;
    }

    private static String loadScript() {
        try (InputStream in = ProbePodRenderer.class.getResourceAsStream("preflight_probe.py")) {
            if (in == null) {
                throw new IllegalStateException("preflight_probe.py is missing from the classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
