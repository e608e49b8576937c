package dev.rayfederation.sidecar.placement;

import dev.rayfederation.k8s.render.WorkerPodRenderer;
import dev.rayfederation.k8s.resources.WorkerShape;
import dev.rayfederation.sidecar.config.CurrentConfig;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.Cluster;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;

import java.util.HashMap;
import java.util.Map;

/**
 * The pod shape (requests, nodeSelector, tolerations) of one worker of each pool on each member it may use,
 * rendered from the configuration in force: the pool's template with that member's override applied. Rendered
 * again only when a reload put another configuration in force.
 */
public final class WorkerShapes {

    private final CurrentConfig config;
    private volatile Rendered rendered;

    private record Rendered(FederationConfig config, Map<String, Map<String, WorkerShape>> byPool) {
    }

    public WorkerShapes(CurrentConfig config) {
        this.config = config;
        this.rendered = render(config.get());
    }

    public WorkerShapes(FederationConfig config) {
        this(new CurrentConfig(config));
    }

    /** The shape of a worker of {@code pool} on {@code member}, or null when that pool may not use it. */
    public WorkerShape of(String pool, String member) {
        Rendered r = rendered;
        FederationConfig now = config.get();
        if (r.config() != now) {
            r = render(now);
            rendered = r;
        }
        return r.byPool().getOrDefault(pool, Map.of()).get(member);
    }

    private static Rendered render(FederationConfig config) {
        Map<String, Map<String, WorkerShape>> byPool = new HashMap<>();
        for (Pool pool : config.pools()) {
            Map<String, WorkerShape> byMember = new HashMap<>();
            for (String m : pool.clusters()) {
                Cluster c = config.cluster(m).orElseThrow();
                byMember.put(m, WorkerPodRenderer.shape(pool.template(), pool.overrides().getOrDefault(m, Map.of()),
                        pool.resources(), c.gpuResourceName()));
            }
            byPool.put(pool.name(), byMember);
        }
        return new Rendered(config, byPool);
    }
}
