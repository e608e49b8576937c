package dev.rayfederation.k8s.capacity;

import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.resources.WorkerShape;

import java.util.Map;

/**
 * An immutable snapshot of one member's capacity, built from its Node and Pod informers.
 * Free room is counted per Kubernetes node: a shape fits only where one node fits it.
 */
public interface CapacityView {

    /** False when capacity cannot be known: Nodes could not be listed and no staticCapacity was given. */
    boolean known();

    /**
     * How many more workers of {@code shape} fit on the member's nodes right now, after first packing the
     * given reservations (our workers that are placed but not yet bound to a node) onto the free room.
     * Only schedulable (not cordoned), Ready nodes whose labels match the shape's nodeSelector and whose
     * NoSchedule/NoExecute taints the shape tolerates count. In static mode this equals {@link #capFit}.
     * Returns at most {@code limit}. When not {@link #known()}, returns {@code limit}.
     */
    long nodeFit(WorkerShape shape, Map<WorkerShape, Integer> reservations, long limit);

    /**
     * How many more workers of {@code shape} the staticCapacity still allows, given what our workers on
     * this member already request in total ({@code ourUsage}). {@link Long#MAX_VALUE} when there is no cap.
     */
    long capFit(WorkerShape shape, ResourceVector ourUsage);

    /**
     * True when at least one worker of {@code shape} could ever run here: some node (cordoned or not) has
     * the allocatable room and matches selector and taints, or the static capacity is large enough. Unknown
     * capacity counts as "could".
     */
    boolean couldEverFit(WorkerShape shape);

    /** Allocatable sum over schedulable nodes, capped by staticCapacity (or staticCapacity in static mode). */
    ResourceVector capacity();

    /** Requests of non-terminated pods bound to those nodes (all namespaces when visible). */
    ResourceVector allocated();

    /** Number of nodes seen, and how many of them are cordoned. */
    int nodeCount();

    int cordonedNodeCount();
}
