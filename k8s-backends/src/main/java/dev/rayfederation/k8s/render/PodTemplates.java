package dev.rayfederation.k8s.render;

import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import dev.rayfederation.k8s.resources.Quantities;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Pool templates (plain maps parsed from YAML) to fabric8 {@link PodTemplateSpec}s, and the problems that
 * stop one from being a usable worker pod template, each reported with its field path.
 */
public final class PodTemplates {

    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
    private static final Set<String> OPERATORS = Set.of("Exists", "Equal");
    private static final Set<String> EFFECTS = Set.of("NoSchedule", "PreferNoSchedule", "NoExecute");
    private static final List<String> PULL_POLICIES = List.of("Always", "IfNotPresent", "Never");
    private static final List<String> RESTART_POLICIES = List.of("Always", "OnFailure", "Never");
    private static final List<String> DNS_POLICIES = List.of("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None");
    private static final List<String> PREEMPTION_POLICIES = List.of("PreemptLowerPriority", "Never");
    private static final List<String> PROTOCOLS = List.of("TCP", "UDP", "SCTP");

    private PodTemplates() {
    }

    /** The result of converting a template: the template, or the problems that prevented it. */
    public record Conversion(PodTemplateSpec template, List<String> problems) {

        public boolean ok() {
            return template != null;
        }
    }

    /** Converts a template map; a null or empty map gives an empty template. */
    public static Conversion convert(Map<String, Object> template, String path) {
        if (template == null || template.isEmpty()) {
            return new Conversion(new PodTemplateSpec(), List.of());
        }
        try {
            PodTemplateSpec spec = SERIALIZATION.convertValue(template, PodTemplateSpec.class);
            return new Conversion(spec == null ? new PodTemplateSpec() : spec, List.of());
        } catch (IllegalArgumentException e) {
            return new Conversion(null, List.of(describe(e, path)));
        }
    }

    /**
     * Converts, or throws {@link IllegalArgumentException} naming the field at fault.
     */
    public static PodTemplateSpec toPodTemplate(Map<String, Object> template, String path) {
        Conversion c = convert(template, path);
        if (!c.ok()) {
            throw new IllegalArgumentException(String.join("; ", c.problems()));
        }
        return c.template();
    }

    /**
     * Problems of a template (or of a member's override, which has the same shape): not convertible to a
     * PodTemplateSpec, unknown fields, containers other than the worker container without name or image,
     * duplicate container names, malformed resource quantities, tolerations with an unknown operator or effect.
     * The worker container (named {@value WorkerPodContract#WORKER_CONTAINER}, else the first) may omit name
     * and image: the renderer supplies both.
     */
    public static List<String> problems(Map<String, Object> template, String path) {
        Conversion c = convert(template, path);
        if (!c.ok()) {
            return c.problems();
        }
        List<String> problems = new ArrayList<>();
        PodTemplateSpec t = c.template();
        unknown(problems, path, t.getAdditionalProperties(), " (a pod template has only metadata and spec)");
        ObjectMeta meta = t.getMetadata();
        if (meta != null) {
            unknown(problems, path + ".metadata", meta.getAdditionalProperties(), "");
        }
        PodSpec spec = t.getSpec();
        if (spec == null) {
            return problems;
        }
        unknown(problems, path + ".spec", spec.getAdditionalProperties(), "");
        oneOf(problems, path + ".spec.restartPolicy", spec.getRestartPolicy(), RESTART_POLICIES);
        oneOf(problems, path + ".spec.dnsPolicy", spec.getDnsPolicy(), DNS_POLICIES);
        oneOf(problems, path + ".spec.preemptionPolicy", spec.getPreemptionPolicy(), PREEMPTION_POLICIES);
        List<Container> containers = nullToEmpty(spec.getContainers());
        int worker = WorkerContainers.indexIn(containers);
        Set<String> names = new HashSet<>();
        for (int i = 0; i < containers.size(); i++) {
            container(problems, path + ".spec.containers[" + i + "]", containers.get(i), i == worker, names);
        }
        List<Container> init = nullToEmpty(spec.getInitContainers());
        for (int i = 0; i < init.size(); i++) {
            container(problems, path + ".spec.initContainers[" + i + "]", init.get(i), false, names);
        }
        List<Toleration> tolerations = nullToEmpty(spec.getTolerations());
        for (int i = 0; i < tolerations.size(); i++) {
            Toleration tol = tolerations.get(i);
            String at = path + ".spec.tolerations[" + i + "]";
            if (tol.getOperator() != null && !OPERATORS.contains(tol.getOperator())) {
                problems.add(at + ".operator: must be Exists or Equal, not '" + tol.getOperator() + "'");
            }
            if (tol.getEffect() != null && !tol.getEffect().isEmpty() && !EFFECTS.contains(tol.getEffect())) {
                problems.add(at + ".effect: must be NoSchedule, PreferNoSchedule or NoExecute, not '" + tol.getEffect() + "'");
            }
            if ("Exists".equals(tol.getOperator()) && tol.getValue() != null && !tol.getValue().isEmpty()) {
                problems.add(at + ".value: must be empty when operator is Exists");
            }
        }
        return problems;
    }

    private static void container(List<String> problems, String at, Container c, boolean worker, Set<String> names) {
        unknown(problems, at, c.getAdditionalProperties(), "");
        if (c.getName() == null || c.getName().isBlank()) {
            if (!worker) {
                problems.add(at + ".name: is required");
            }
        } else if (!names.add(c.getName())) {
            problems.add(at + ".name: duplicate container name '" + c.getName() + "'");
        }
        boolean directive = c.getAdditionalProperties() != null && c.getAdditionalProperties().containsKey(StrategicMerge.PATCH_DIRECTIVE);
        if ((c.getImage() == null || c.getImage().isBlank()) && !worker && !directive) {
            problems.add(at + ".image: is required");
        }
        oneOf(problems, at + ".imagePullPolicy", c.getImagePullPolicy(), PULL_POLICIES);
        List<io.fabric8.kubernetes.api.model.ContainerPort> ports = nullToEmpty(c.getPorts());
        for (int i = 0; i < ports.size(); i++) {
            oneOf(problems, at + ".ports[" + i + "].protocol", ports.get(i).getProtocol(), PROTOCOLS);
            Integer port = ports.get(i).getContainerPort();
            if (port != null && (port < 1 || port > 65535)) {
                problems.add(at + ".ports[" + i + "].containerPort: must be 1..65535, not " + port);
            }
        }
        ResourceRequirements r = c.getResources();
        if (r != null) {
            quantities(problems, at + ".resources.requests", r.getRequests());
            quantities(problems, at + ".resources.limits", r.getLimits());
        }
    }

    /** A field a Kubernetes API server only accepts from a fixed list: refused here, not as a 422 at create time. */
    private static void oneOf(List<String> problems, String at, String value, List<String> allowed) {
        if (value != null && !value.isEmpty() && !allowed.contains(value)) {
            problems.add(at + ": must be one of " + String.join(", ", allowed) + ", not '" + value + "'");
        }
    }

    private static void quantities(List<String> problems, String at, Map<String, Quantity> values) {
        if (values == null) {
            return;
        }
        values.forEach((k, q) -> {
            String text = q == null ? null : q.getAmount() + (q.getFormat() == null ? "" : q.getFormat());
            if (!Quantities.isQuantity(text)) {
                problems.add(at + "." + k + ": '" + (q == null ? null : q.toString()) + "' is not a Kubernetes quantity (examples: 8, 500m, 32Gi)");
            }
        });
    }

    private static void unknown(List<String> problems, String at, Map<String, Object> extra, String hint) {
        if (extra != null) {
            for (String key : extra.keySet()) {
                if (!StrategicMerge.PATCH_DIRECTIVE.equals(key)) {
                    problems.add(at + "." + key + ": unknown field" + hint);
                }
            }
        }
    }

    /** "pools[0].template.spec.containers: must be a list" from a Jackson mapping failure. */
    static String describe(IllegalArgumentException e, String path) {
        JsonMappingException mapping = null;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof JsonMappingException jm) {
                mapping = jm;
                break;
            }
        }
        if (mapping == null) {
            return path + ": " + e.getMessage();
        }
        StringBuilder at = new StringBuilder(path);
        for (JsonMappingException.Reference ref : mapping.getPath()) {
            if (ref.getFieldName() != null) {
                at.append('.').append(ref.getFieldName());
            } else if (ref.getIndex() >= 0) {
                at.append('[').append(ref.getIndex()).append(']');
            }
        }
        return at + ": " + expectation(mapping);
    }

    private static String expectation(JsonMappingException e) {
        if (e instanceof MismatchedInputException mi && mi.getTargetType() != null) {
            Class<?> target = mi.getTargetType();
            if (Collection.class.isAssignableFrom(target) || target.isArray()) {
                return "must be a list";
            }
            if (Map.class.isAssignableFrom(target)) {
                return "must be a map";
            }
            if (target == String.class) {
                return "must be a string";
            }
            if (target == Integer.class || target == int.class || target == Long.class || target == long.class) {
                return "must be an integer";
            }
            if (target == Boolean.class || target == boolean.class) {
                return "must be true or false";
            }
            if (Number.class.isAssignableFrom(target)) {
                return "must be a number";
            }
            if (e instanceof InvalidFormatException) {
                return "has an invalid value";
            }
            return "must be a map";
        }
        String message = e.getOriginalMessage();
        if (message != null && message.contains("quantity")) {
            return "is not a Kubernetes quantity (examples: 8, 500m, 32Gi)";
        }
        return "has an invalid value (" + (message == null ? e.getClass().getSimpleName() : message.split("\n")[0]) + ")";
    }

    private static <T> List<T> nullToEmpty(List<T> list) {
        return list == null ? List.of() : list;
    }
}
