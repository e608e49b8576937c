package dev.rayfederation.sidecar.api;

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

    /** What a worker of the pool advertises to Ray: CPU, GPU, memory (bytes) and the extra Ray resources. */
    public static Map<String, Number> rayResources(Pool p) {
        Map<String, Number> out = new TreeMap<>();
        p.resources().toUnits().forEach((k, v) -> {
            if (!k.contains("/")) {
                out.put(k, v);
            }
        });
        p.rayResources().forEach((k, v) -> out.put(k, v == Math.rint(v) ? (Number) v.longValue() : v));
        return out;
    }

    public static Map<String, String> rayLabels(Pool p) {
        Map<String, String> out = new TreeMap<>(p.labels());
        out.put("ray-federation.io/virtual-cluster", p.virtualCluster());
        return out;
    }
}
