package dev.rayfederation.k8s.render;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.rayfederation.k8s.capacity.PodRequests;
import dev.rayfederation.k8s.resources.Quantities;
import dev.rayfederation.k8s.resources.ResourceNames;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.resources.WorkerShape;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.ProbeBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.Toleration;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Renders worker pods from the pool's template plus the member's override. Pure functions.
 *
 * <p>How a pod is made from a {@link WorkerPodSpec}:
 * <ol>
 *   <li>the pool template (a PodTemplateSpec as a plain map) with the member override applied as a
 *       strategic-merge-like patch ({@link StrategicMerge});</li>
 *   <li>the worker container: the one named {@value WorkerPodContract#WORKER_CONTAINER}, else the first;
 *       with no container at all, one named {@value WorkerPodContract#WORKER_CONTAINER} running
 *       {@value WorkerContainers#DEFAULT_IMAGE} (also the image of a worker container that names none);</li>
 *   <li>its requests and limits from the pool's resources (CPU → cpu, memory → memory, GPU → the
 *       member's GPU resource as a whole number, names with '/' as they are);</li>
 *   <li>env {@code RAY_CLOUD_INSTANCE_ID}, {@code RAY_NODE_TYPE_NAME} and, when known,
 *       {@code RAY_NODE_REGION}/{@code RAY_NODE_ZONE}, replacing template entries of the same name;</li>
 *   <li>the command: when the template container has neither command nor args,
 *       {@code ["/bin/bash", "-lc", "ray start ..."]}; when it has its own, that is kept and the
 *       shell-quoted {@code ray start} arguments are put in env {@value #ENV_RAY_START_ARGS} instead
 *       (use them as {@code eval "ray start $RAY_FEDERATION_RAY_START_ARGS"});</li>
 *   <li>a readiness probe on the raylet's health ({@value WorkerPodContract#READINESS_PATH} on port
 *       {@value WorkerPodContract#READINESS_PORT}) unless the template brings its own;</li>
 *   <li>pod name, {@code restartPolicy: Never} (a worker that exits is not restarted in place: Ray sees it
 *       gone), the contract labels over the template's, never KubeRay's {@code ray.io/group},
 *       {@code ray.io/cluster} or {@code ray.io/node-type} (KubeRay would adopt the pod), and the tags and
 *       request annotations;</li>
 *   <li>what the template leaves unset of PodSecurity's {@code restricted} profile, and no ServiceAccount token
 *       ({@link PodSecurityDefaults}).</li>
 * </ol>
 */
public final class WorkerPodRenderer {

    /** Env var holding the shell-quoted {@code ray start} arguments when the template brings its own command. */
    public static final String ENV_RAY_START_ARGS = WorkerPodContract.ENV_RAY_START_ARGS;

    /** Labels KubeRay uses to own pods: stripped from every worker pod. */
    public static final Set<String> KUBERAY_LABELS = Set.of("ray.io/group", "ray.io/cluster", "ray.io/node-type");

    private WorkerPodRenderer() {
    }

    /**
     * Problems with a pool template or override (as parsed from YAML), each prefixed with {@code path}
     * (for example "pools[0].template.spec.containers[0].image: must be a string"). Empty when valid.
     * The worker container may omit its name and image (the renderer supplies them); every other
     * container needs both. See {@link PodTemplates#problems}.
     */
    public static List<String> validateTemplate(Map<String, Object> template, String path) {
        return PodTemplates.problems(template, path);
    }

    /**
     * Problems of a template once a member's override is applied, prefixed with {@code path}
     * (for example "pools[0].overrides.gcp-usc1"). Empty when valid.
     */
    public static List<String> validateMerged(Map<String, Object> template, Map<String, Object> override, String path) {
        return PodTemplates.problems(StrategicMerge.apply(template, override), path);
    }

    /**
     * The shape (requests, nodeSelector, tolerations) a worker of this pool would have on a member whose
     * override is {@code override}; {@code gpuResourceName} is the Kubernetes name of Ray's GPU. The requests
     * are those of the whole pod (every container, init containers as Kubernetes counts them, overhead),
     * keyed by Ray names.
     *
     * @throws IllegalArgumentException when the merged template is not a pod template
     */
    public static WorkerShape shape(Map<String, Object> template, Map<String, Object> override,
                                    ResourceVector resources, String gpuResourceName) {
        PodTemplateSpec merged = PodTemplates.toPodTemplate(StrategicMerge.apply(template, override), "template");
        PodSpec spec = merged.getSpec() == null ? new PodSpec() : merged.getSpec();
        Container worker = WorkerContainers.workerOf(spec);
        applyResources(worker, resources == null ? ResourceVector.EMPTY : resources, gpuResourceName);
        ResourceVector requests = PodRequests.of(spec, gpuResourceName);
        Map<String, String> selector = spec.getNodeSelector() == null ? Map.of() : spec.getNodeSelector();
        List<WorkerShape.Toleration> tolerations = new ArrayList<>();
        if (spec.getTolerations() != null) {
            for (Toleration t : spec.getTolerations()) {
                tolerations.add(new WorkerShape.Toleration(t.getKey(), t.getOperator(), t.getValue(), t.getEffect()));
            }
        }
        return new WorkerShape(requests, selector, tolerations);
    }

    /** The arguments of {@code ray start} for this worker, unquoted (see {@link RayStartCommand}). */
    public static List<String> rayStartArgs(WorkerPodSpec spec) {
        return RayStartCommand.args(spec);
    }

    /**
     * The worker pod. Its namespace is left unset: the member creates it in its own namespace.
     *
     * @throws IllegalArgumentException when a required field of {@code spec} is missing, or the merged
     *                                  template is not a pod template
     */
    public static Pod render(WorkerPodSpec spec) {
        requireFields(spec);
        PodTemplateSpec merged = PodTemplates.toPodTemplate(StrategicMerge.apply(spec.template(), spec.override()), "template");
        PodSpec podSpec = merged.getSpec() == null ? new PodSpec() : merged.getSpec();
        ObjectMeta templateMeta = merged.getMetadata() == null ? new ObjectMeta() : merged.getMetadata();

        Container worker = WorkerContainers.workerOf(podSpec);
        applyResources(worker, spec.resources(), spec.gpuResourceName());
        boolean ownCommand = hasOwnCommand(worker);
        applyEnv(worker, spec, ownCommand);
        if (!ownCommand) {
            worker.setCommand(new ArrayList<>(List.of("/bin/bash", "-lc")));
            worker.setArgs(new ArrayList<>(List.of(RayStartCommand.shellLine(spec))));
        }
        if (worker.getReadinessProbe() == null) {
            worker.setReadinessProbe(rayletReady());
        }
        podSpec.setRestartPolicy("Never");
        PodSecurityDefaults.apply(podSpec);

        ObjectMeta meta = new ObjectMeta();
        meta.setName(spec.podName());
        meta.setLabels(labels(templateMeta.getLabels(), spec));
        meta.setAnnotations(annotations(templateMeta.getAnnotations(), spec));

        Pod pod = new Pod();
        pod.setApiVersion("v1");
        pod.setKind("Pod");
        pod.setMetadata(meta);
        pod.setSpec(podSpec);
        return pod;
    }

    /** Ready once the raylet is healthy; a template's own readiness probe is kept as it is. */
    private static Probe rayletReady() {
        return new ProbeBuilder()
                .withNewHttpGet()
                    .withPath(WorkerPodContract.READINESS_PATH)
                    .withNewPort(WorkerPodContract.READINESS_PORT)
                .endHttpGet()
                .withInitialDelaySeconds(5)
                .withPeriodSeconds(5)
                .withTimeoutSeconds(2)
                .withSuccessThreshold(1)
                .withFailureThreshold(3)
                .build();
    }

    private static void requireFields(WorkerPodSpec spec) {
        Objects.requireNonNull(spec, "spec");
        require(spec.nodeId(), "nodeId");
        require(spec.podName(), "podName");
        require(spec.rayClusterName(), "rayClusterName");
        require(spec.headAddress(), "headAddress");
        require(spec.pool(), "pool");
        require(spec.virtualCluster(), "virtualCluster");
        require(spec.rayNodeType(), "rayNodeType");
        require(spec.member(), "member");
        if (spec.resources() == null) {
            throw new IllegalArgumentException("WorkerPodSpec.resources: is required");
        }
    }

    private static void require(String value, String field) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("WorkerPodSpec." + field + ": is required");
        }
    }

    private static Map<String, String> labels(Map<String, String> template, WorkerPodSpec spec) {
        Map<String, String> labels = new TreeMap<>();
        if (template != null) {
            labels.putAll(template);
        }
        KUBERAY_LABELS.forEach(labels::remove);
        labels.put(WorkerPodContract.LABEL_MANAGED_BY, WorkerPodContract.MANAGED_BY_VALUE);
        labels.put(WorkerPodContract.LABEL_RAY_CLUSTER, spec.rayClusterName());
        labels.put(WorkerPodContract.LABEL_NODE_ID, spec.nodeId());
        labels.put(WorkerPodContract.LABEL_POOL, spec.pool());
        labels.put(WorkerPodContract.LABEL_VIRTUAL_CLUSTER, spec.virtualCluster());
        labels.put(WorkerPodContract.LABEL_NODE_TYPE, spec.rayNodeType());
        return labels;
    }

    private static Map<String, String> annotations(Map<String, String> template, WorkerPodSpec spec) {
        Map<String, String> annotations = new TreeMap<>();
        if (template != null) {
            annotations.putAll(template);
        }
        annotations.put(WorkerPodContract.ANNOTATION_TAGS, tagsJson(spec.tags()));
        putIfPresent(annotations, WorkerPodContract.ANNOTATION_REQUEST_ID, spec.requestId());
        putIfPresent(annotations, WorkerPodContract.ANNOTATION_REQUEST_HASH, spec.requestHash());
        annotations.put(WorkerPodContract.ANNOTATION_REQUEST_COUNT, Integer.toString(spec.requestCount()));
        return annotations;
    }

    /** Tags as JSON with keys sorted, as stored in the {@value WorkerPodContract#ANNOTATION_TAGS} annotation. */
    public static String tagsJson(Map<String, String> tags) {
        try {
            return Json.MAPPER.writeValueAsString(tags == null ? Map.of() : new TreeMap<>(tags));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write tags as JSON", e);
        }
    }

    private static void putIfPresent(Map<String, String> m, String key, String value) {
        if (value != null) {
            m.put(key, value);
        }
    }

    private static void applyResources(Container worker, ResourceVector resources, String gpuResourceName) {
        ResourceRequirements rr = worker.getResources() == null ? new ResourceRequirements() : worker.getResources();
        Map<String, Quantity> requests = rr.getRequests() == null ? new LinkedHashMap<>() : new LinkedHashMap<>(rr.getRequests());
        Map<String, Quantity> limits = rr.getLimits() == null ? new LinkedHashMap<>() : new LinkedHashMap<>(rr.getLimits());
        resources.milli().forEach((name, milli) -> {
            String kube = ResourceNames.toKubernetes(name, gpuResourceName);
            if (kube == null || milli <= 0) {
                return;
            }
            String amount = ResourceNames.GPU.equals(name)
                    ? Long.toString(milli / 1000 + (milli % 1000 == 0 ? 0 : 1))
                    : Quantities.fromMilli(milli);
            requests.put(kube, new Quantity(amount));
            limits.put(kube, new Quantity(amount));
        });
        rr.setRequests(requests);
        rr.setLimits(limits);
        worker.setResources(rr);
    }

    private static void applyEnv(Container worker, WorkerPodSpec spec, boolean ownCommand) {
        Map<String, String> ours = new LinkedHashMap<>();
        ours.put(WorkerPodContract.ENV_INSTANCE_ID, spec.nodeId());
        ours.put(WorkerPodContract.ENV_NODE_TYPE, spec.rayNodeType());
        if (spec.region() != null) {
            ours.put(WorkerPodContract.ENV_REGION, spec.region());
        }
        if (spec.zone() != null) {
            ours.put(WorkerPodContract.ENV_ZONE, spec.zone());
        }
        if (ownCommand) {
            ours.put(ENV_RAY_START_ARGS, RayStartCommand.quoted(RayStartCommand.args(spec)));
        }
        List<EnvVar> env = new ArrayList<>();
        if (worker.getEnv() != null) {
            for (EnvVar e : worker.getEnv()) {
                if (!ours.containsKey(e.getName())) {
                    env.add(e);
                }
            }
        }
        ours.forEach((k, v) -> env.add(new EnvVar(k, v, null)));
        worker.setEnv(env);
    }

    private static boolean hasOwnCommand(Container c) {
        return (c.getCommand() != null && !c.getCommand().isEmpty()) || (c.getArgs() != null && !c.getArgs().isEmpty());
    }
}
