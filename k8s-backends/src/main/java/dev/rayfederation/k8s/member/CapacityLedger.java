package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.capacity.NodeCapacity;
import dev.rayfederation.k8s.capacity.NodeRoom;
import dev.rayfederation.k8s.capacity.PodUsage;
import dev.rayfederation.k8s.resources.ResourceVector;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Keeps per-node usage up to date from Node and Pod informer events, so that a capacity snapshot costs
 * one pass over the nodes instead of one over every pod. Snapshots are cached until the next change.
 * Thread-safe.
 */
final class CapacityLedger {

    private final String gpuResourceName;
    private final ResourceVector staticCapacity;
    private final Map<String, NodeRoom> nodes = new HashMap<>();
    private final Map<String, PodUsage> pods = new HashMap<>();
    private final Map<String, ResourceVector> usedByNode = new HashMap<>();
    private NodeCapacity snapshot;

    CapacityLedger(String gpuResourceName, ResourceVector staticCapacity) {
        this.gpuResourceName = gpuResourceName;
        this.staticCapacity = staticCapacity == null ? ResourceVector.EMPTY : staticCapacity;
    }

    synchronized void putNode(Node node) {
        NodeRoom room = NodeRoom.of(node, gpuResourceName);
        if (room.name() != null) {
            nodes.put(room.name(), room);
            snapshot = null;
        }
    }

    synchronized void removeNode(Node node) {
        if (node.getMetadata() != null && nodes.remove(node.getMetadata().getName()) != null) {
            snapshot = null;
        }
    }

    synchronized void putPod(Pod pod) {
        PodUsage now = PodUsage.of(pod, gpuResourceName);
        PodUsage before = pods.remove(now.key());
        release(before);
        if (now.holdsRoom()) {
            pods.put(now.key(), now);
            usedByNode.merge(now.nodeName(), now.requests(), ResourceVector::plus);
        }
        if (before != null || now.holdsRoom()) {
            snapshot = null;
        }
    }

    synchronized void removePod(Pod pod) {
        PodUsage gone = PodUsage.of(pod, gpuResourceName);
        PodUsage before = pods.remove(gone.key());
        if (before != null) {
            release(before);
            snapshot = null;
        }
    }

    private void release(PodUsage usage) {
        if (usage == null) {
            return;
        }
        ResourceVector left = usedByNode.getOrDefault(usage.nodeName(), ResourceVector.EMPTY).minus(usage.requests());
        if (left.isEmpty()) {
            usedByNode.remove(usage.nodeName());
        } else {
            usedByNode.put(usage.nodeName(), left);
        }
    }

    /** True when the pod {@code key} (namespace/name) is counted as holding room on its node. */
    synchronized boolean holds(String key) {
        return pods.containsKey(key);
    }

    /** The current capacity; the same instance until something changes. */
    synchronized NodeCapacity snapshot() {
        if (snapshot == null) {
            List<NodeRoom> rooms = new ArrayList<>(nodes.size());
            for (NodeRoom n : nodes.values()) {
                rooms.add(n.withUsed(usedByNode.getOrDefault(n.name(), ResourceVector.EMPTY)));
            }
            snapshot = NodeCapacity.ofRooms(rooms, staticCapacity);
        }
        return snapshot;
    }
}
