package dev.rayfederation.k8s.capacity;

import dev.rayfederation.k8s.resources.ResourceNames;
import dev.rayfederation.k8s.resources.ResourceVector;
import io.fabric8.kubernetes.api.model.Pod;

import java.util.Map;

/**
 * What one pod takes from the node it is bound to: its effective requests plus one unit of {@code pods}.
 *
 * @param key      namespace/name
 * @param nodeName spec.nodeName; null while unbound
 * @param requests effective requests (see {@link PodRequests}) plus {@code pods: 1}
 * @param active   not Succeeded/Failed: a terminated pod holds nothing
 */
public record PodUsage(String key, String nodeName, ResourceVector requests, boolean active) {

    private static final ResourceVector ONE_POD = new ResourceVector(Map.of(ResourceNames.PODS, 1000L));

    public static PodUsage of(Pod pod, String gpuResourceName) {
        String ns = pod.getMetadata() == null ? null : pod.getMetadata().getNamespace();
        String name = pod.getMetadata() == null ? null : pod.getMetadata().getName();
        String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
        boolean active = !"Succeeded".equals(phase) && !"Failed".equals(phase);
        String node = pod.getSpec() == null ? null : pod.getSpec().getNodeName();
        if (node != null && node.isEmpty()) {
            node = null;
        }
        return new PodUsage(ns + "/" + name, node, PodRequests.of(pod, gpuResourceName).plus(ONE_POD), active);
    }

    /** True when the pod holds room on a node. */
    public boolean holdsRoom() {
        return active && nodeName != null;
    }
}
