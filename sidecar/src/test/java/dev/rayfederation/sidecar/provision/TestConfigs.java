package dev.rayfederation.sidecar.provision;

import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.Cluster;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;
import dev.rayfederation.sidecar.placement.strategy.PlacementStrategy;
import dev.rayfederation.sidecar.config.FederationConfig.VirtualCluster;

import java.util.List;
import java.util.Map;

/** Hand-built configurations for unit tests (the loader has its own tests). */
public final class TestConfigs {

    private TestConfigs() {
    }

    public static Cluster cluster(String name, String cloud, int priority) {
        return new Cluster(name, cloud, "region-" + name, null, null, null, "ray-workers", priority, Map.of(), false,
                FederationConfig.CapacityMode.AUTO, ResourceVector.EMPTY, "nvidia.com/gpu");
    }

    public static Pool pool(String name, String vc, Map<String, String> resources, int maxWorkers, PlacementStrategy strategy,
                            List<String> clusters) {
        return new Pool(name, vc, name, ResourceVector.ofQuantities(resources), Map.of(), Map.of(), 0, maxWorkers,
                strategy, clusters, Map.of(), Map.of());
    }

    public static FederationConfig config(List<Cluster> clusters, List<VirtualCluster> vcs, List<Pool> pools) {
        return new FederationConfig(new FederationConfig.RayCluster("demo", "10.0.0.12:6379"),
                new FederationConfig.Api(new FederationConfig.HostPort("127.0.0.1", 0), null),
                new FederationConfig.Management(new FederationConfig.HostPort("127.0.0.1", 0)),
                clusters, vcs, pools, FederationConfig.Timing.defaults());
    }

    /** The same configuration with another replacement section. */
    public static FederationConfig withReplacement(FederationConfig c, FederationConfig.Replacement replacement) {
        return new FederationConfig(c.rayCluster(), c.api(), c.management(), c.clusters(), c.virtualClusters(),
                c.pools(), c.timing(), c.resilience(), replacement);
    }
}
