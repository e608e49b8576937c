package dev.rayfederation.sidecar.placement;

import dev.rayfederation.k8s.render.WorkerPodRenderer;
import dev.rayfederation.k8s.resources.WorkerShape;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.Cluster;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;

import java.util.HashMap;
import java.util.Map;

/**
 * The pod shape (requests, nodeSelector, tolerations) of one worker of each pool on each member it may use,
 * rendered once from the config: the pool's template with that member's override applied.
 */
public final class WorkerShapes {

    private final Map<String, Map<String, WorkerShape>> byPool = new HashMap<>();

    public WorkerShapes(FederationConfig config) {
        for (Pool pool : config.pools()) {
            Map<String, WorkerShape> byMember = new HashMap<>();
            for (String m : pool.clusters()) {
                Cluster c = config.cluster(m).orElseThrow();
                byMember.put(m, WorkerPodRenderer.shape(pool.template(), pool.overrides().getOrDefault(m, Map.of()),
                        pool.resources(), c.gpuResourceName()));
            }
            byPool.put(pool.name(), byMember);
        }
    }

    /** The shape of a worker of {@code pool} on {@code member}, or null when that pool may not use it. */
    public WorkerShape of(String pool, String member) {
        return byPool.getOrDefault(pool, Map.of()).get(member);
    }
}
