package dev.rayfederation.sidecar.api;

import dev.rayfederation.k8s.render.RayNodeResources;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/** GET /v1/node-types: each pool as a Ray node type, ready to paste into Ray's available_node_types. */
public final class NodeTypesView {

    private NodeTypesView() {
    }

    public static Map<String, Object> of(FederationConfig config) {
        Map<String, Object> types = new TreeMap<>();
        for (Pool p : config.pools()) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("resources", rayResources(p));
            t.put("labels", rayLabels(p));
            t.put("min_workers", p.minWorkers());
            t.put("max_workers", p.maxWorkers());
            t.put("node_config", Map.of());
            types.put(p.rayNodeType(), t);
        }
        return Map.of("availableNodeTypes", types);
    }

    /**
     * What a worker of the pool advertises to Ray: the same mapping as the worker's {@code ray start} flags
     * ({@link RayNodeResources}: CPU rounded up, memory in bytes, custom resources as given).
     */
    public static Map<String, Number> rayResources(Pool p) {
        return RayNodeResources.ofPool(p.resources(), p.rayResources(), p.labels(), p.virtualCluster()).resources();
    }

    /** The worker's Ray labels without {@code ray-federation.io/member}, which is only known once it is placed. */
    public static Map<String, String> rayLabels(Pool p) {
        return new TreeMap<>(RayNodeResources.ofPool(p.resources(), p.rayResources(), p.labels(), p.virtualCluster())
                .labels());
    }
}
