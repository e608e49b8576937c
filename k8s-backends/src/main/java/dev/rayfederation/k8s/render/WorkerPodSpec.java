package dev.rayfederation.k8s.render;

import dev.rayfederation.k8s.resources.ResourceVector;

import java.util.Map;

/**
 * Everything needed to render one worker pod. Pure data: {@link WorkerPodRenderer} turns it
 * into a fabric8 Pod.
 *
 * @param nodeId          the Ray node id minted by the sidecar
 * @param podName         DNS-1123 pod name
 * @param rayClusterName  rayCluster.name
 * @param headAddress     what {@code ray start --address} dials
 * @param pool            pool name
 * @param virtualCluster  the pool's virtual cluster
 * @param rayNodeType     key in Ray's available_node_types
 * @param member          member cluster name (becomes a Ray label)
 * @param region          member region, may be null
 * @param zone            member zone, may be null
 * @param resources       per-worker resources: CPU, GPU, memory, or extended names with '/'
 * @param rayResources    extra custom Ray resources (name → amount, plain numbers)
 * @param labels          extra Ray node labels from the pool
 * @param template        the pool's PodTemplateSpec as a plain JSON-like map (may be empty)
 * @param override        the member's strategic patch for this pool, as a map (may be empty)
 * @param tags            Ray tags to persist in the tags annotation
 * @param requestId       the create request's id
 * @param requestHash     hash of that request's body
 * @param requestCount    how many workers that request asked for
 * @param gpuResourceName Kubernetes resource name for Ray's GPU (e.g. nvidia.com/gpu)
 */
public record WorkerPodSpec(
        String nodeId,
        String podName,
        String rayClusterName,
        String headAddress,
        String pool,
        String virtualCluster,
        String rayNodeType,
        String member,
        String region,
        String zone,
        ResourceVector resources,
        Map<String, Double> rayResources,
        Map<String, String> labels,
        Map<String, Object> template,
        Map<String, Object> override,
        Map<String, String> tags,
        String requestId,
        String requestHash,
        int requestCount,
        String gpuResourceName) {
}
