package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * A sidecar configuration file under construction: members, virtual clusters, pools and any extra
 * top-level block. The listeners are filled in by {@link SidecarProcess}, which picks free ports. Immutable; the
 * {@code with...} methods return changed copies.
 *
 * @param extra top-level keys written as given (for example {@code timing})
 */
public record SidecarConfig(String rayClusterName, String headAddress, List<Cluster> clusters,
                            List<VirtualCluster> virtualClusters, List<Pool> pools, Map<String, Object> extra) {

    /**
     * The network preflight, unless a test sets its own {@code preflight} block: off, because neither simulated
     * members (without a {@link PreflightRuntime}) nor the real-Kubernetes tier's kwok members run containers, so a
     * probe pod there never answers and would keep the member out of placement.
     */
    public static final Map<String, Object> PREFLIGHT_OFF = Map.of("enabled", false);

    /** The address simulated workers "dial": nothing listens there. */
    public static final String DEFAULT_HEAD_ADDRESS = "10.0.0.12:6379";

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));

    public SidecarConfig {
        clusters = List.copyOf(clusters);
        virtualClusters = List.copyOf(virtualClusters);
        pools = List.copyOf(pools);
        extra = Map.copyOf(extra);
    }

    /** One {@link Cluster} per simulated member (in order), Ray cluster "sim", no pools yet. */
    public static SidecarConfig forMembers(SimulatedMembers members) {
        return new SidecarConfig("sim", DEFAULT_HEAD_ADDRESS,
                members.members().stream().map(Cluster::of).toList(), List.of(), List.of(), Map.of());
    }

    public SidecarConfig withRayCluster(String name, String head) {
        return new SidecarConfig(name, head, clusters, virtualClusters, pools, extra);
    }

    public SidecarConfig withVirtualCluster(VirtualCluster vc) {
        List<VirtualCluster> all = new ArrayList<>(virtualClusters);
        all.add(vc);
        return new SidecarConfig(rayClusterName, headAddress, clusters, all, pools, extra);
    }

    public SidecarConfig withPool(Pool pool) {
        List<Pool> all = new ArrayList<>(pools);
        all.add(pool);
        return new SidecarConfig(rayClusterName, headAddress, clusters, virtualClusters, all, extra);
    }

    /** Changes the cluster entry of one member, e.g. {@code withCluster("m1", c -> c.withPriority(10))}. */
    public SidecarConfig withCluster(String name, UnaryOperator<Cluster> change) {
        if (clusters.stream().noneMatch(c -> c.name().equals(name))) {
            throw new IllegalArgumentException("cluster: unknown '" + name + "'");
        }
        List<Cluster> all = clusters.stream().map(c -> c.name().equals(name) ? change.apply(c) : c).toList();
        return new SidecarConfig(rayClusterName, headAddress, all, virtualClusters, pools, extra);
    }

    /** Adds a member at the end of clusters. */
    public SidecarConfig withCluster(Cluster added) {
        List<Cluster> all = new ArrayList<>(clusters);
        all.add(added);
        return new SidecarConfig(rayClusterName, headAddress, all, virtualClusters, pools, extra);
    }

    /** Leaves a member out of clusters. */
    public SidecarConfig withoutCluster(String name) {
        withCluster(name, c -> c); // fails on an unknown name
        List<Cluster> all = clusters.stream().filter(c -> !c.name().equals(name)).toList();
        return new SidecarConfig(rayClusterName, headAddress, all, virtualClusters, pools, extra);
    }

    /** Changes one pool, e.g. {@code withPool("cpu", p -> p.withStrategy("priority"))}. */
    public SidecarConfig withPool(String name, UnaryOperator<Pool> change) {
        pool(name); // fails on an unknown name
        List<Pool> all = pools.stream().map(p -> p.name().equals(name) ? change.apply(p) : p).toList();
        return new SidecarConfig(rayClusterName, headAddress, clusters, virtualClusters, all, extra);
    }

    /** Changes one virtual cluster, e.g. {@code withVirtualCluster("vc", v -> v.withQuota("CPU", 8))}. */
    public SidecarConfig withVirtualCluster(String name, UnaryOperator<VirtualCluster> change) {
        if (virtualClusters.stream().noneMatch(v -> v.name().equals(name))) {
            throw new IllegalArgumentException("virtual cluster: unknown '" + name + "'");
        }
        List<VirtualCluster> all = virtualClusters.stream().map(v -> v.name().equals(name) ? change.apply(v) : v).toList();
        return new SidecarConfig(rayClusterName, headAddress, clusters, all, pools, extra);
    }

    /** Sets a top-level key, e.g. {@code with("timing", Map.of("memberRetryInterval", "1s"))}. */
    public SidecarConfig with(String key, Object value) {
        Map<String, Object> all = new LinkedHashMap<>(extra);
        all.put(key, value);
        return new SidecarConfig(rayClusterName, headAddress, clusters, virtualClusters, pools, all);
    }

    public Pool pool(String name) {
        return pools.stream().filter(p -> p.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("pool: unknown '" + name + "'"));
    }

    /** The configuration tree with the two listeners ({@code host:port}). */
    public Map<String, Object> toTree(String apiListen, String managementListen) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("rayCluster", map("name", rayClusterName, "headAddress", headAddress));
        root.put("api", map("listen", apiListen));
        root.put("management", map("listen", managementListen));
        root.put("clusters", clusters.stream().map(Cluster::toTree).toList());
        if (!virtualClusters.isEmpty()) {
            root.put("virtualClusters", virtualClusters.stream().map(VirtualCluster::toTree).toList());
        }
        root.put("pools", pools.stream().map(Pool::toTree).toList());
        root.put("preflight", PREFLIGHT_OFF);
        root.putAll(extra);
        return root;
    }

    public String toYaml(String apiListen, String managementListen) {
        try {
            return YAML.writeValueAsString(toTree(apiListen, managementListen));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** clusters[i]; null fields are left out. */
    public record Cluster(String name, String cloud, String region, String zone, String kubeconfig, String context,
                          String namespace, Integer priority, Map<String, Object> extra) {

        public Cluster {
            extra = Map.copyOf(extra);
        }

        public static Cluster of(SimulatedMember m) {
            MemberSpec s = m.spec();
            if (m.kubeconfig() == null) {
                throw new IllegalStateException("member " + s.name() + ": write its kubeconfig first");
            }
            return new Cluster(s.name(), s.cloud(), s.region(), s.zone(), m.kubeconfig().toAbsolutePath().toString(),
                    m.context(), s.namespace(), null, Map.of());
        }

        /** The same member reached through another kubeconfig (for example one that goes through a proxy). */
        public Cluster withKubeconfig(Path file) {
            return new Cluster(name, cloud, region, zone, file.toAbsolutePath().toString(), context, namespace, priority, extra);
        }

        public Cluster withPriority(int value) {
            return new Cluster(name, cloud, region, zone, kubeconfig, context, namespace, value, extra);
        }

        /** Any other key of clusters[i], e.g. {@code with("elastic", true)}. */
        public Cluster with(String key, Object value) {
            Map<String, Object> all = new LinkedHashMap<>(extra);
            all.put(key, value);
            return new Cluster(name, cloud, region, zone, kubeconfig, context, namespace, priority, all);
        }

        Map<String, Object> toTree() {
            Map<String, Object> m = map("name", name, "cloud", cloud, "region", region, "zone", zone,
                    "kubeconfig", kubeconfig, "context", context, "namespace", namespace, "priority", priority);
            m.putAll(extra);
            return m;
        }
    }

    /** virtualClusters[i]; quota values are numbers or quantities, empty means none. */
    public record VirtualCluster(String name, Map<String, Object> quota) {

        public VirtualCluster {
            quota = Map.copyOf(quota);
        }

        public static VirtualCluster of(String name) {
            return new VirtualCluster(name, Map.of());
        }

        public VirtualCluster withQuota(String resource, Object amount) {
            Map<String, Object> all = new LinkedHashMap<>(quota);
            all.put(resource, amount);
            return new VirtualCluster(name, all);
        }

        Map<String, Object> toTree() {
            return quota.isEmpty() ? map("name", name) : map("name", name, "quota", new LinkedHashMap<>(quota));
        }
    }

    /**
     * pools[i]. {@code clusters} empty means "all members"; {@code template} and {@code overrides} are written as
     * given (pod template maps).
     */
    public record Pool(String name, String virtualCluster, String rayNodeType, Map<String, Object> resources,
                       Map<String, Object> rayResources, Map<String, String> labels, int minWorkers, int maxWorkers,
                       String strategy, List<String> clusters, Map<String, Object> template,
                       Map<String, Object> overrides) {

        public Pool {
            resources = Map.copyOf(resources);
            rayResources = Map.copyOf(rayResources);
            labels = Map.copyOf(labels);
            clusters = List.copyOf(clusters);
            template = Map.copyOf(template);
            overrides = Map.copyOf(overrides);
        }

        /** A pool whose Ray node type is its name, strategy spread, on all members, at most 100 workers. */
        public static Pool of(String name, String virtualCluster, Map<String, Object> resources) {
            return new Pool(name, virtualCluster, name, resources, Map.of(), Map.of(), 0, 100, "spread", List.of(),
                    Map.of(), Map.of());
        }

        public Pool withStrategy(String value) {
            return new Pool(name, virtualCluster, rayNodeType, resources, rayResources, labels, minWorkers, maxWorkers,
                    value, clusters, template, overrides);
        }

        public Pool withClusters(String... members) {
            return new Pool(name, virtualCluster, rayNodeType, resources, rayResources, labels, minWorkers, maxWorkers,
                    strategy, Arrays.asList(members), template, overrides);
        }

        public Pool withMaxWorkers(int value) {
            return new Pool(name, virtualCluster, rayNodeType, resources, rayResources, labels, minWorkers, value,
                    strategy, clusters, template, overrides);
        }

        public Pool withLabels(Map<String, String> value) {
            return new Pool(name, virtualCluster, rayNodeType, resources, rayResources, value, minWorkers, maxWorkers,
                    strategy, clusters, template, overrides);
        }

        public Pool withRayResources(Map<String, Object> value) {
            return new Pool(name, virtualCluster, rayNodeType, resources, value, labels, minWorkers, maxWorkers,
                    strategy, clusters, template, overrides);
        }

        public Pool withTemplate(Map<String, Object> value) {
            return new Pool(name, virtualCluster, rayNodeType, resources, rayResources, labels, minWorkers, maxWorkers,
                    strategy, clusters, value, overrides);
        }

        /** The strategic patch applied on one member (nodeSelector, tolerations, image mirror...). */
        public Pool withOverride(String member, Map<String, Object> patch) {
            Map<String, Object> all = new LinkedHashMap<>(overrides);
            all.put(member, patch);
            return new Pool(name, virtualCluster, rayNodeType, resources, rayResources, labels, minWorkers, maxWorkers,
                    strategy, clusters, template, all);
        }

        Map<String, Object> toTree() {
            Map<String, Object> m = map("name", name, "virtualCluster", virtualCluster, "rayNodeType", rayNodeType);
            m.put("resources", new LinkedHashMap<>(resources));
            if (!rayResources.isEmpty()) {
                m.put("rayResources", new LinkedHashMap<>(rayResources));
            }
            if (!labels.isEmpty()) {
                m.put("labels", new LinkedHashMap<>(labels));
            }
            m.put("minWorkers", minWorkers);
            m.put("maxWorkers", maxWorkers);
            m.put("strategy", strategy);
            if (!clusters.isEmpty()) {
                m.put("clusters", clusters);
            }
            if (!template.isEmpty()) {
                m.put("template", template);
            }
            if (!overrides.isEmpty()) {
                m.put("overrides", new LinkedHashMap<>(overrides));
            }
            return m;
        }
    }

    /** An insertion-ordered map of the given key/value pairs, leaving out null values. */
    private static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            if (kv[i + 1] != null) {
                m.put((String) kv[i], kv[i + 1]);
            }
        }
        return m;
    }
}
