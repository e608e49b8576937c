package dev.rayfederation.sidecar.provision;

import dev.rayfederation.k8s.render.WorkerPodSpec;
import dev.rayfederation.sidecar.config.CurrentConfig;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.Cluster;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;
import dev.rayfederation.sidecar.registry.NodeRecord;

import java.util.Map;

/**
 * What to ask a member to create for a node: its pod, from the pool's template and the member's override. The
 * Kubernetes name of Ray's GPU is left to the member, which knows its own ({@code clusters[].gpuResourceName}).
 */
public final class PodSpecs {

    private final CurrentConfig config;

    public PodSpecs(CurrentConfig config) {
        this.config = config;
    }

    /** The pod of {@code node} on its member; {@code rayTags} are the Ray tags to persist on it. */
    public WorkerPodSpec of(NodeRecord node, Pool pool, Map<String, String> rayTags) {
        FederationConfig config = this.config.get();
        Cluster cluster = config.cluster(node.member()).orElseThrow();
        return new WorkerPodSpec(node.id(), node.podName(), config.rayCluster().name(), config.rayCluster().headAddress(),
                pool.name(), pool.virtualCluster(), pool.rayNodeType(), cluster.name(), cluster.region(), cluster.zone(),
                pool.resources(), pool.rayResources(), pool.labels(), pool.template(),
                pool.overrides().getOrDefault(cluster.name(), Map.of()), rayTags, node.requestId(),
                node.requestHash(), node.requestCount(), null);
    }
}
