package dev.rayfederation.k8s.capacity;

import dev.rayfederation.k8s.resources.ResourceNames;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.resources.WorkerShape;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The {@link CapacityView} of one member, in one of three modes:
 * <ul>
 *   <li><b>nodes</b> ({@link #of}, {@link #ofRooms}): free room per node = allocatable − requests of the
 *       non-terminated pods bound to it; a shape fits only where one node fits it; {@code staticCapacity}
 *       (when not empty) caps the total through {@link #capFit}.</li>
 *   <li><b>static</b> ({@link #staticOnly}): nodes are ignored and {@code staticCapacity} is the whole
 *       capacity; a resource it does not list is not available there.</li>
 *   <li><b>unknown</b> ({@link #unknown}): Nodes could not be listed and there is no static capacity;
 *       every question is answered optimistically.</li>
 * </ul>
 * Immutable. Node room is held in primitive arrays so that {@link #nodeFit} over a thousand nodes and a few
 * reservation shapes takes microseconds.
 *
 * <p>Longer than 400 lines because the three capacity modes (per node, static, unknown) share one packing of reservations onto nodes and one fit computation; split, they would each need the same arrays.
 */
public final class NodeCapacity implements CapacityView {

    /** Taints that come and go with node health or cordoning: ignored by {@link #couldEverFit}. */
    private static final Set<String> TRANSIENT_TAINTS = Set.of(
            "node.kubernetes.io/unschedulable",
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
            "node.kubernetes.io/network-unavailable",
            "node.kubernetes.io/memory-pressure",
            "node.kubernetes.io/disk-pressure",
            "node.kubernetes.io/pid-pressure");

    /** Room of a node that does not report {@code pods}: more than anyone will ask for. */
    private static final long UNLIMITED = Long.MAX_VALUE / 4;

    private enum Mode { NODES, STATIC, UNKNOWN }

    private final Mode mode;
    private final ResourceVector staticCapacity;
    private final List<NodeRoom> nodes;
    private final Map<String, Integer> dims;
    private final int podsDim;
    private final long[][] free;
    private final long[][] allocatable;
    private final boolean[] schedulable;
    private final ResourceVector capacity;
    private final ResourceVector allocated;
    private final int cordonedCount;

    private NodeCapacity(Mode mode, List<NodeRoom> rooms, ResourceVector staticCapacity, ResourceVector allocatedWhenNoNodes) {
        this.mode = mode;
        this.staticCapacity = staticCapacity == null ? ResourceVector.EMPTY : staticCapacity;
        List<NodeRoom> sorted = new ArrayList<>(rooms);
        sorted.sort(Comparator.comparing(NodeRoom::name, Comparator.nullsFirst(Comparator.naturalOrder())));
        this.nodes = List.copyOf(sorted);

        TreeSet<String> names = new TreeSet<>();
        for (NodeRoom n : nodes) {
            names.addAll(n.allocatable().milli().keySet());
            names.addAll(n.used().milli().keySet());
        }
        Map<String, Integer> index = new HashMap<>();
        for (String name : names) {
            index.put(name, index.size());
        }
        this.dims = Map.copyOf(index);
        this.podsDim = index.getOrDefault(ResourceNames.PODS, -1);

        int count = nodes.size();
        this.free = new long[count][];
        this.allocatable = new long[count][];
        this.schedulable = new boolean[count];
        long[] capacitySum = new long[dims.size()];
        long[] usedSum = new long[dims.size()];
        int cordoned = 0;
        for (int i = 0; i < count; i++) {
            NodeRoom n = nodes.get(i);
            long[] alloc = toArray(n.allocatable());
            long[] used = toArray(n.used());
            long[] room = new long[alloc.length];
            for (int d = 0; d < alloc.length; d++) {
                room[d] = alloc[d] - used[d];
            }
            if (n.schedulable()) {
                for (int d = 0; d < alloc.length; d++) {
                    capacitySum[d] = saturatingAdd(capacitySum[d], alloc[d]);
                    usedSum[d] = saturatingAdd(usedSum[d], used[d]);
                }
            }
            if (podsDim >= 0 && alloc[podsDim] == 0) {
                alloc[podsDim] = UNLIMITED;
                room[podsDim] = UNLIMITED;
            }
            allocatable[i] = alloc;
            free[i] = room;
            schedulable[i] = n.schedulable();
            if (n.cordoned()) {
                cordoned++;
            }
        }
        this.cordonedCount = cordoned;
        switch (mode) {
            case NODES:
                this.capacity = capped(toVector(capacitySum), this.staticCapacity);
                this.allocated = toVector(usedSum);
                break;
            case STATIC:
                this.capacity = this.staticCapacity;
                this.allocated = allocatedWhenNoNodes;
                break;
            default:
                this.capacity = ResourceVector.EMPTY;
                this.allocated = allocatedWhenNoNodes;
        }
    }

    /**
     * Capacity from Nodes and Pods as the informers hold them. Pods that are terminated or not bound to a
     * listed node hold nothing.
     *
     * @param staticCapacity a cap (EMPTY: none)
     */
    public static NodeCapacity of(Collection<Node> nodes, Collection<Pod> pods, String gpuResourceName,
                                  ResourceVector staticCapacity) {
        Map<String, ResourceVector> used = new HashMap<>();
        for (Pod p : pods) {
            PodUsage u = PodUsage.of(p, gpuResourceName);
            if (u.holdsRoom()) {
                used.merge(u.nodeName(), u.requests(), ResourceVector::plus);
            }
        }
        List<NodeRoom> rooms = new ArrayList<>(nodes.size());
        for (Node n : nodes) {
            NodeRoom room = NodeRoom.of(n, gpuResourceName);
            rooms.add(room.withUsed(used.getOrDefault(room.name(), ResourceVector.EMPTY)));
        }
        return ofRooms(rooms, staticCapacity);
    }

    /** Capacity from node rooms whose {@code used} is already summed. */
    public static NodeCapacity ofRooms(Collection<NodeRoom> rooms, ResourceVector staticCapacity) {
        return new NodeCapacity(Mode.NODES, List.copyOf(rooms), staticCapacity, ResourceVector.EMPTY);
    }

    /**
     * Static mode: {@code staticCapacity} is the whole capacity.
     *
     * @param allocated what to report as allocated (our workers' requests: nodes are not watched)
     */
    public static NodeCapacity staticOnly(ResourceVector staticCapacity, ResourceVector allocated) {
        return new NodeCapacity(Mode.STATIC, List.of(), staticCapacity, allocated == null ? ResourceVector.EMPTY : allocated);
    }

    /** Capacity cannot be known: {@link #known()} is false and placement is not limited by it. */
    public static NodeCapacity unknown(ResourceVector allocated) {
        return new NodeCapacity(Mode.UNKNOWN, List.of(), ResourceVector.EMPTY, allocated == null ? ResourceVector.EMPTY : allocated);
    }

    @Override
    public boolean known() {
        return mode != Mode.UNKNOWN;
    }

    /** True in static mode (nodes ignored). */
    public boolean staticMode() {
        return mode == Mode.STATIC;
    }

    @Override
    public long nodeFit(WorkerShape shape, Map<WorkerShape, Integer> reservations, long limit) {
        if (limit <= 0) {
            return 0;
        }
        if (mode == Mode.UNKNOWN) {
            return limit;
        }
        if (mode == Mode.STATIC) {
            ResourceVector reserved = ResourceVector.EMPTY;
            if (reservations != null) {
                for (Map.Entry<WorkerShape, Integer> e : reservations.entrySet()) {
                    reserved = reserved.plus(e.getKey().requests().times(Math.max(0, e.getValue())));
                }
            }
            return Math.min(limit, capFit(shape, reserved));
        }
        long[] need = needOf(shape.requests());
        if (need == null) {
            return 0;
        }
        long[][] room = reservations == null || reservations.isEmpty() ? free : packed(reservations);
        long total = 0;
        for (int i = 0; i < room.length; i++) {
            if (!schedulable[i] || !admits(i, shape, false)) {
                continue;
            }
            total = saturatingAdd(total, howMany(room[i], need));
            if (total >= limit) {
                return limit;
            }
        }
        return total;
    }

    @Override
    public long capFit(WorkerShape shape, ResourceVector ourUsage) {
        if (mode == Mode.UNKNOWN || (mode == Mode.NODES && staticCapacity.isEmpty())) {
            return Long.MAX_VALUE;
        }
        ResourceVector usage = ourUsage == null ? ResourceVector.EMPTY : ourUsage;
        long n = Long.MAX_VALUE;
        for (Map.Entry<String, Long> e : shape.requests().milli().entrySet()) {
            long need = e.getValue();
            if (need <= 0) {
                continue;
            }
            if (!staticCapacity.milli().containsKey(e.getKey())) {
                if (mode == Mode.STATIC) {
                    return 0;
                }
                continue;
            }
            long left = staticCapacity.get(e.getKey()) - usage.get(e.getKey());
            if (left < need) {
                return 0;
            }
            n = Math.min(n, left / need);
        }
        return n;
    }

    @Override
    public boolean couldEverFit(WorkerShape shape) {
        if (mode == Mode.UNKNOWN) {
            return true;
        }
        if (capFit(shape, ResourceVector.EMPTY) < 1) {
            return false;
        }
        if (mode == Mode.STATIC) {
            return true;
        }
        long[] need = needOf(shape.requests());
        if (need == null) {
            return false;
        }
        for (int i = 0; i < allocatable.length; i++) {
            if (admits(i, shape, true) && howMany(allocatable[i], need) >= 1) {
                return true;
            }
        }
        return false;
    }

    @Override
    public ResourceVector capacity() {
        return capacity;
    }

    @Override
    public ResourceVector allocated() {
        return allocated;
    }

    @Override
    public int nodeCount() {
        return nodes.size();
    }

    @Override
    public int cordonedNodeCount() {
        return cordonedCount;
    }

    /** The nodes this view was built from, sorted by name (empty in static and unknown mode). */
    public List<NodeRoom> nodes() {
        return nodes;
    }

    /** First-fit packs the reservations, largest shapes first, onto a copy of the free room. */
    private long[][] packed(Map<WorkerShape, Integer> reservations) {
        long[][] room = new long[free.length][];
        for (int i = 0; i < free.length; i++) {
            room[i] = free[i].clone();
        }
        List<Map.Entry<WorkerShape, Integer>> order = new ArrayList<>(reservations.entrySet());
        order.sort(LARGEST_FIRST);
        for (Map.Entry<WorkerShape, Integer> r : order) {
            long remaining = r.getValue() == null ? 0 : r.getValue();
            long[] need = remaining > 0 ? needOf(r.getKey().requests()) : null;
            if (need == null) {
                continue;
            }
            for (int i = 0; i < room.length && remaining > 0; i++) {
                if (!schedulable[i] || !admits(i, r.getKey(), false)) {
                    continue;
                }
                long k = Math.min(remaining, howMany(room[i], need));
                if (k > 0) {
                    for (int d = 0; d < need.length; d++) {
                        room[i][d] -= k * need[d];
                    }
                    remaining -= k;
                }
            }
        }
        return room;
    }

    private static final Comparator<Map.Entry<WorkerShape, Integer>> LARGEST_FIRST =
            Comparator.<Map.Entry<WorkerShape, Integer>>comparingLong(e -> -e.getKey().requests().get(ResourceNames.GPU))
                    .thenComparingLong(e -> -e.getKey().requests().get(ResourceNames.CPU))
                    .thenComparingLong(e -> -e.getKey().requests().get(ResourceNames.MEMORY))
                    .thenComparing(e -> e.getKey().toString());

    /** Node selector matches and every blocking taint is tolerated. */
    private boolean admits(int node, WorkerShape shape, boolean ignoreTransientTaints) {
        NodeRoom n = nodes.get(node);
        for (Map.Entry<String, String> e : shape.nodeSelector().entrySet()) {
            if (!e.getValue().equals(n.labels().get(e.getKey()))) {
                return false;
            }
        }
        for (NodeRoom.NodeTaint t : n.taints()) {
            if (ignoreTransientTaints && TRANSIENT_TAINTS.contains(t.key())) {
                continue;
            }
            boolean tolerated = false;
            for (WorkerShape.Toleration tol : shape.tolerations()) {
                if (tol.tolerates(t.key(), t.value(), t.effect())) {
                    tolerated = true;
                    break;
                }
            }
            if (!tolerated) {
                return false;
            }
        }
        return true;
    }

    /** The shape's requests as an array over this view's resources (plus one pod); null when some node-less resource is needed. */
    private long[] needOf(ResourceVector requests) {
        long[] need = new long[dims.size()];
        for (Map.Entry<String, Long> e : requests.milli().entrySet()) {
            if (e.getValue() <= 0 || e.getKey().equals(ResourceNames.PODS)) {
                continue;
            }
            Integer d = dims.get(e.getKey());
            if (d == null) {
                return null;
            }
            need[d] = e.getValue();
        }
        if (podsDim >= 0) {
            need[podsDim] = 1000;
        }
        return need;
    }

    private long[] toArray(ResourceVector v) {
        long[] a = new long[dims.size()];
        v.milli().forEach((k, val) -> a[dims.get(k)] = val);
        return a;
    }

    private ResourceVector toVector(long[] values) {
        Map<String, Long> m = new HashMap<>();
        dims.forEach((name, d) -> m.put(name, values[d]));
        return new ResourceVector(m);
    }

    private static long howMany(long[] room, long[] need) {
        long n = Long.MAX_VALUE;
        for (int d = 0; d < need.length; d++) {
            if (need[d] > 0) {
                if (room[d] < need[d]) {
                    return 0;
                }
                n = Math.min(n, room[d] / need[d]);
            }
        }
        return n;
    }

    private static long saturatingAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? (a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE) : r;
    }

    private static ResourceVector capped(ResourceVector sum, ResourceVector cap) {
        if (cap.isEmpty()) {
            return sum;
        }
        TreeMap<String, Long> m = new TreeMap<>(sum.milli());
        cap.milli().forEach((k, v) -> m.computeIfPresent(k, (key, have) -> Math.min(have, v)));
        return new ResourceVector(m);
    }

    @Override
    public String toString() {
        return "NodeCapacity{" + mode.name().toLowerCase() + ", nodes=" + nodes.size() + ", capacity=" + capacity
                + ", allocated=" + allocated + '}';
    }
}
