package dev.rayfederation.sidecar.config;

import dev.rayfederation.k8s.ResourceVector;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The whole configuration file (DESIGN §3), parsed once and validated at start-up. Immutable.
 * {@link ConfigLoader} builds it; nothing else does, except tests.
 */
public record FederationConfig(
        RayCluster rayCluster,
        Api api,
        Management management,
        List<Cluster> clusters,
        List<VirtualCluster> virtualClusters,
        List<Pool> pools,
        Timing timing) {

    public FederationConfig {
        clusters = List.copyOf(clusters);
        virtualClusters = List.copyOf(virtualClusters);
        pools = List.copyOf(pools);
    }

    public Optional<Pool> poolByNodeType(String rayNodeType) {
        return pools.stream().filter(p -> p.rayNodeType().equals(rayNodeType)).findFirst();
    }

    public Optional<Cluster> cluster(String name) {
        return clusters.stream().filter(c -> c.name().equals(name)).findFirst();
    }

    public Optional<VirtualCluster> virtualCluster(String name) {
        return virtualClusters.stream().filter(v -> v.name().equals(name)).findFirst();
    }

    /** rayCluster: name (Ray cluster_name, stamped on every pod) and the address workers dial. */
    public record RayCluster(String name, String headAddress) {
    }

    /** api: the node-provider listener; tokenFile null means no token (only allowed on loopback). */
    public record Api(HostPort listen, Path tokenFile) {
    }

    /** management: /healthz /readyz /metrics. */
    public record Management(HostPort listen) {
    }

    public record HostPort(String host, int port) {
        public boolean isLoopback() {
            return host.equals("localhost") || host.startsWith("127.") || host.equals("::1") || host.equals("[::1]");
        }

        @Override
        public String toString() {
            return (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
        }
    }

    public enum CapacityMode { AUTO, STATIC }

    /**
     * clusters[i]: one member Kubernetes cluster.
     *
     * @param price           per unit-hour by Ray resource name (CPU, GPU, memory in GiB-hours); empty = unknown
     * @param gpuResourceName Kubernetes resource that Ray's GPU maps to (extension; default nvidia.com/gpu)
     */
    public record Cluster(
            String name,
            String cloud,
            String region,
            String zone,
            Path kubeconfig,
            String context,
            String namespace,
            int priority,
            Map<String, Double> price,
            boolean elastic,
            CapacityMode capacity,
            ResourceVector staticCapacity,
            String gpuResourceName) {
    }

    /** virtualClusters[i]: a tenant; quota EMPTY means unlimited. */
    public record VirtualCluster(String name, ResourceVector quota) {
    }

    public enum Strategy {
        PRIORITY("priority"), SPREAD("spread"), MOST_FREE("most-free"), CHEAPEST("cheapest");

        private final String wire;

        Strategy(String wire) {
            this.wire = wire;
        }

        public String wire() {
            return wire;
        }

        public static Optional<Strategy> fromWire(String s) {
            for (Strategy v : values()) {
                if (v.wire.equals(s)) {
                    return Optional.of(v);
                }
            }
            return Optional.empty();
        }
    }

    /**
     * pools[i]: a virtual-cluster resource pool = one Ray node type.
     *
     * @param resources    per worker, milli-units (CPU, GPU, memory, extended names with '/')
     * @param rayResources extra custom Ray resources
     * @param clusters     allowed members, in config order; never empty after loading (default: all)
     * @param template     worker PodTemplateSpec as a plain map (possibly empty)
     * @param overrides    member name → strategic patch map
     */
    public record Pool(
            String name,
            String virtualCluster,
            String rayNodeType,
            ResourceVector resources,
            Map<String, Double> rayResources,
            Map<String, String> labels,
            int minWorkers,
            int maxWorkers,
            Strategy strategy,
            List<String> clusters,
            Map<String, Object> template,
            Map<String, Map<String, Object>> overrides) {
    }

    /**
     * timing (extension, all optional): how long to wait for members at start-up, how often an unreachable
     * member is retried, and how long a request to the sidecar may take.
     */
    public record Timing(Duration memberStartTimeout, Duration memberRetryInterval, Duration requestTimeout) {
        public static Timing defaults() {
            return new Timing(Duration.ofSeconds(10), Duration.ofSeconds(15), Duration.ofSeconds(30));
        }
    }
}
