package dev.rayfederation.k8s.capacity;

import dev.rayfederation.k8s.resources.ResourceNames;
import dev.rayfederation.k8s.resources.ResourceVector;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.Taint;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One Kubernetes node as capacity sees it: what it offers ({@code allocatable}, Ray names) and what the
 * non-terminated pods bound to it request ({@code used}), plus what decides whether a pod may land there.
 *
 * @param name        node name
 * @param labels      node labels (matched against a nodeSelector)
 * @param taints      the node's NoSchedule and NoExecute taints (PreferNoSchedule never blocks)
 * @param ready       condition Ready is True
 * @param cordoned    spec.unschedulable
 * @param allocatable status.allocatable (status.capacity when absent), Ray names
 * @param used        summed requests of the pods bound to the node, including {@code pods} = one per pod
 */
public record NodeRoom(
        String name,
        Map<String, String> labels,
        List<NodeTaint> taints,
        boolean ready,
        boolean cordoned,
        ResourceVector allocatable,
        ResourceVector used) {

    public NodeRoom {
        labels = labels == null ? Map.of() : Map.copyOf(labels);
        taints = taints == null ? List.of() : List.copyOf(taints);
        allocatable = allocatable == null ? ResourceVector.EMPTY : allocatable;
        used = used == null ? ResourceVector.EMPTY : used;
    }

    /** A taint that keeps pods off a node unless they tolerate it. */
    public record NodeTaint(String key, String value, String effect) {
    }

    /** The node's room with nothing used yet. */
    public static NodeRoom of(Node node, String gpuResourceName) {
        String name = node.getMetadata() == null ? null : node.getMetadata().getName();
        Map<String, String> labels = node.getMetadata() == null ? null : node.getMetadata().getLabels();
        boolean cordoned = node.getSpec() != null && Boolean.TRUE.equals(node.getSpec().getUnschedulable());
        List<NodeTaint> taints = new ArrayList<>();
        if (node.getSpec() != null && node.getSpec().getTaints() != null) {
            for (Taint t : node.getSpec().getTaints()) {
                if ("NoSchedule".equals(t.getEffect()) || "NoExecute".equals(t.getEffect())) {
                    taints.add(new NodeTaint(t.getKey(), t.getValue(), t.getEffect()));
                }
            }
        }
        boolean ready = false;
        ResourceVector allocatable = ResourceVector.EMPTY;
        if (node.getStatus() != null) {
            for (NodeCondition c : node.getStatus().getConditions() == null ? List.<NodeCondition>of() : node.getStatus().getConditions()) {
                if ("Ready".equals(c.getType())) {
                    ready = "True".equals(c.getStatus());
                }
            }
            var offered = node.getStatus().getAllocatable();
            if (offered == null || offered.isEmpty()) {
                offered = node.getStatus().getCapacity();
            }
            allocatable = ResourceNames.toRay(offered, gpuResourceName);
        }
        return new NodeRoom(name, labels, taints, ready, cordoned, allocatable, ResourceVector.EMPTY);
    }

    public NodeRoom withUsed(ResourceVector newUsed) {
        return new NodeRoom(name, labels, taints, ready, cordoned, allocatable, newUsed);
    }

    /** Ready and not cordoned: the scheduler may place new pods here. */
    public boolean schedulable() {
        return ready && !cordoned;
    }
}
