package dev.rayfederation.k8s;

import java.util.List;
import java.util.Map;

/**
 * Renders worker pods (DESIGN §5) from the pool's template plus the member's override. Pure functions.
 * STUB: signatures fixed; implementation pending.
 */
public final class WorkerPodRenderer {

    private WorkerPodRenderer() {
    }

    /**
     * Problems with a pool template or override (as parsed from YAML), each prefixed with {@code path}
     * (for example "pools[0].template.spec.containers[0].image: must be a string"). Empty when valid.
     */
    public static List<String> validateTemplate(Map<String, Object> template, String path) {
        return List.of();
    }

    /**
     * The shape (requests, nodeSelector, tolerations) a worker of this pool would have on a member whose
     * override is {@code override}; {@code gpuResourceName} is the Kubernetes name of Ray's GPU.
     */
    public static WorkerShape shape(Map<String, Object> template, Map<String, Object> override,
                                    ResourceVector resources, String gpuResourceName) {
        return WorkerShape.of(resources);
    }
}
