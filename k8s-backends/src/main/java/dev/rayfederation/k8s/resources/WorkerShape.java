package dev.rayfederation.k8s.resources;

import java.util.List;
import java.util.Map;

/**
 * What one worker needs from a Kubernetes node: its resource requests (see {@link ResourceVector}),
 * and the node selector and tolerations of its pod (after the member's override is applied).
 */
public record WorkerShape(ResourceVector requests, Map<String, String> nodeSelector, List<Toleration> tolerations) {

    public WorkerShape {
        nodeSelector = Map.copyOf(nodeSelector);
        tolerations = List.copyOf(tolerations);
    }

    public static WorkerShape of(ResourceVector requests) {
        return new WorkerShape(requests, Map.of(), List.of());
    }

    /** A pod toleration, as Kubernetes matches it against a node's taints. Null fields mean "any". */
    public record Toleration(String key, String operator, String value, String effect) {

        /** Kubernetes' rule: empty key with Exists tolerates everything; empty effect matches all effects. */
        public boolean tolerates(String taintKey, String taintValue, String taintEffect) {
            if (effect != null && !effect.isEmpty() && !effect.equals(taintEffect)) {
                return false;
            }
            boolean exists = "Exists".equals(operator);
            if (key == null || key.isEmpty()) {
                return exists;
            }
            if (!key.equals(taintKey)) {
                return false;
            }
            return exists || java.util.Objects.equals(value == null ? "" : value, taintValue == null ? "" : taintValue);
        }
    }
}
