package dev.rayfederation.sidecar.config;

import dev.rayfederation.sidecar.placement.strategy.PlacementStrategy;

import dev.rayfederation.k8s.resilience.ResilienceOptions;
import dev.rayfederation.k8s.member.MemberClusterSpec;
import dev.rayfederation.k8s.resources.ResourceVector;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The whole configuration file, parsed once and validated at start-up. Immutable.
 * {@link ConfigLoader} builds it; nothing else does, except tests.
 *
 * @param resilience the {@code resilience} section (extension): circuit breakers, bulkhead, rate limit and retries
 *                   of every call to a member's API, handed as they are to each member
 *                   ({@code MemberClusterOptions.withResilience}); null means the defaults
 * @param antRay     the {@code antRay} section: virtual clusters enforced by ant-ray's own scheduler; null means off
 * @param preflight  the {@code preflight} section: network checks of each member by probe pods; null means off (a
 *                   configuration built in code: its members may not run pods), while a configuration file without
 *                   the section gets {@link Preflight#defaults()}
 */
public record FederationConfig(
        RayCluster rayCluster,
        Api api,
        Management management,
        List<Cluster> clusters,
        List<VirtualCluster> virtualClusters,
        List<Pool> pools,
        Timing timing,
        ResilienceOptions resilience,
        Replacement replacement,
        AntRay antRay,
        Preflight preflight) {

    public FederationConfig {
        clusters = List.copyOf(clusters);
        virtualClusters = List.copyOf(virtualClusters);
        pools = List.copyOf(pools);
        resilience = resilience == null ? ResilienceOptions.defaults() : resilience;
        replacement = replacement == null ? Replacement.defaults() : replacement;
        antRay = antRay == null ? AntRay.disabled() : antRay;
        preflight = preflight == null ? Preflight.off() : preflight;
    }

    /** Without a preflight section: off. */
    public FederationConfig(RayCluster rayCluster, Api api, Management management, List<Cluster> clusters,
                            List<VirtualCluster> virtualClusters, List<Pool> pools, Timing timing,
                            ResilienceOptions resilience, Replacement replacement, AntRay antRay) {
        this(rayCluster, api, management, clusters, virtualClusters, pools, timing, resilience, replacement, antRay, null);
    }

    /** Without an antRay section: off. */
    public FederationConfig(RayCluster rayCluster, Api api, Management management, List<Cluster> clusters,
                            List<VirtualCluster> virtualClusters, List<Pool> pools, Timing timing,
                            ResilienceOptions resilience, Replacement replacement) {
        this(rayCluster, api, management, clusters, virtualClusters, pools, timing, resilience, replacement, null, null);
    }

    /** Without a replacement section: its defaults. */
    public FederationConfig(RayCluster rayCluster, Api api, Management management, List<Cluster> clusters,
                            List<VirtualCluster> virtualClusters, List<Pool> pools, Timing timing,
                            ResilienceOptions resilience) {
        this(rayCluster, api, management, clusters, virtualClusters, pools, timing, resilience, null, null, null);
    }

    /** Without a resilience section: its defaults. */
    public FederationConfig(RayCluster rayCluster, Api api, Management management, List<Cluster> clusters,
                            List<VirtualCluster> virtualClusters, List<Pool> pools, Timing timing) {
        this(rayCluster, api, management, clusters, virtualClusters, pools, timing, null, null, null, null);
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

    /**
     * antRay: keep ant-ray's virtual clusters in step with the workers placed for them, through the Ray head's
     * dashboard (its virtual-cluster REST API).
     *
     * @param dashboardUrl   the head's dashboard, e.g. http://127.0.0.1:8265
     * @param requestTimeout one dashboard call
     * @param retryInterval  first wait after a failed sync (it doubles, up to 30 s)
     * @param shrinkWait     how long a terminate waits for its worker to leave its virtual cluster
     */
    public record AntRay(boolean enabled, URI dashboardUrl, Duration requestTimeout, Duration retryInterval,
                         Duration shrinkWait) {
        public static AntRay disabled() {
            return new AntRay(false, null, Duration.ofSeconds(5), Duration.ofSeconds(2), Duration.ofSeconds(5));
        }
    }

    /**
     * preflight: before a member first takes workers, after a reload that adds or changes it, and every
     * {@code interval}, a short-lived probe pod in the member dials the head's GCS address and the sidecar dials the
     * probe back (docs/preflight.md).
     *
     * @param enforce       a member whose last preflight failed takes no new workers
     * @param interval      how often a member that passed is checked again
     * @param retryInterval how soon a member that failed (or whose probe could not run) is checked again
     * @param timeout       one probe: from its pod running to both directions judged; a probe pod that is not
     *                      running by then (image pull, scheduling) says nothing about the network and is retried
     * @param port          the port the probe listens on for the sidecar's dial-back
     * @param image         the probe's image; null: the worker image of the first pool that may use the member
     * @param firstVerdictWait with {@code enforce}, how long a member whose first probe has not given a verdict yet
     *                      is kept out of placement, counted from that probe's start (its image pull can take
     *                      minutes); zero: a member is placed on while its first verdict is pending
     */
    public record Preflight(boolean enabled, boolean enforce, Duration interval, Duration retryInterval,
                            Duration timeout, int port, String image, Duration firstVerdictWait) {

        /** Ray's default lowest worker port: a network that lets Ray's workers be dialled lets this one through. */
        public static final int DEFAULT_PORT = 10002;

        public static Preflight defaults() {
            return new Preflight(true, true, Duration.ofMinutes(10), Duration.ofMinutes(1), Duration.ofMinutes(2),
                    DEFAULT_PORT, null, Duration.ofSeconds(60));
        }

        public static Preflight off() {
            Preflight d = defaults();
            return new Preflight(false, false, d.interval(), d.retryInterval(), d.timeout(), d.port(), null,
                    d.firstVerdictWait());
        }
    }

    /**
     * virtualClusters[i].antRay: the ant-ray virtual cluster this tenant's workers join.
     *
     * @param id        its id in ant-ray (default: the virtual cluster's name)
     * @param divisible whether ant-ray may divide it into job clusters
     */
    public record AntRayCluster(String id, boolean divisible) {
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

        /** What k8s-backends needs to connect to this member (it cannot see this config). */
        public MemberClusterSpec memberSpec() {
            return new MemberClusterSpec(name, cloud, region, zone, kubeconfig, context, namespace, elastic,
                    capacity == CapacityMode.STATIC, staticCapacity);
        }
    }

    /** virtualClusters[i]: a tenant; quota EMPTY means unlimited. */
    public record VirtualCluster(String name, ResourceVector quota, AntRayCluster antRay) {
        public VirtualCluster {
            antRay = antRay == null ? new AntRayCluster(name, false) : antRay;
        }

        public VirtualCluster(String name, ResourceVector quota) {
            this(name, quota, null);
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
            PlacementStrategy strategy,
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

    /**
     * replacement (extension, all optional): when a worker that does not come up is moved to another member,
     * and how long its (member, pool) pair then backs off.
     *
     * @param unschedulableGrace  a pod Unschedulable this long on a non-elastic member is moved (default 30s)
     * @param startTimeout        a pod not Running and Ready this long on a non-elastic member is moved (default 5m)
     * @param elasticStartTimeout the same on elastic members, whose node autoscaler may add a node (default 15m)
     * @param creatingTimeout     a placed worker whose pod could not be created this long is moved (default 2m)
     * @param backoffInitial      first back-off of the (member, pool) pair (default 30s)
     * @param backoffMax          the back-off doubles up to this; a worker that comes up there resets it (default 10m)
     * @param checkInterval       how often workers are checked (default 2s)
     */
    public record Replacement(Duration unschedulableGrace, Duration startTimeout, Duration elasticStartTimeout,
                              Duration creatingTimeout, Duration backoffInitial, Duration backoffMax,
                              Duration checkInterval) {
        public static Replacement defaults() {
            return new Replacement(Duration.ofSeconds(30), Duration.ofMinutes(5), Duration.ofMinutes(15),
                    Duration.ofMinutes(2), Duration.ofSeconds(30), Duration.ofMinutes(10), Duration.ofSeconds(2));
        }
    }
}
