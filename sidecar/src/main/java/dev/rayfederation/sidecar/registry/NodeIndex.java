package dev.rayfederation.sidecar.registry;

import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.resources.WorkerShape;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * The registry's running sums and indexes, so that what placement asks for each request (live nodes per pool and
 * member, resources per virtual cluster, our pods' requests and unconfirmed reservations per member, the nodes of a
 * request id) costs the same with a hundred workers as with a hundred thousand. Kept by {@link NodeRegistry} under
 * its monitor: every change of a record goes through {@link #replace}, in the same critical section as the change
 * itself, so the sums always equal a recount of the records. Not thread-safe on its own.
 */
final class NodeIndex {

    private final Map<String, Integer> livePerPool = new HashMap<>();
    private final Map<String, Map<String, Integer>> livePerPoolMember = new HashMap<>();
    private final Map<String, Map<String, Long>> liveResourcesPerVirtualCluster = new HashMap<>();
    private final Map<String, Map<String, Long>> requestsPerMember = new HashMap<>();
    private final Map<String, TreeMap<String, NodeRecord>> byRequestId = new HashMap<>();
    /** Per member and shape, how many of our records are not bound to a Kubernetes node (always reserved). */
    private final Map<String, Map<WorkerShape, Integer>> unbound = new HashMap<>();
    /**
     * Per member and shape, the bound records (by id) not yet seen counted by the member's capacity: the only ones
     * whose reservation must be asked about (see {@link #reservations}).
     */
    private final Map<String, Map<WorkerShape, Map<String, NodeRecord>>> unconfirmed = new HashMap<>();

    /** Record {@code old} (null: none) is replaced by {@code now} (null: removed). */
    void replace(NodeRecord old, NodeRecord now) {
        if (old != null) {
            add(old, -1);
        }
        if (now != null) {
            add(now, 1);
        }
    }

    private void add(NodeRecord r, int sign) {
        if (r.live()) {
            count(livePerPool, r.pool(), sign);
            Map<String, Integer> perMember = livePerPoolMember.computeIfAbsent(r.pool(), k -> new HashMap<>());
            count(perMember, r.member(), sign);
            if (perMember.isEmpty()) {
                livePerPoolMember.remove(r.pool());
            }
            sum(liveResourcesPerVirtualCluster, r.virtualCluster(), r.resources(), sign);
        }
        if (r.shape() != null) {
            sum(requestsPerMember, r.member(), r.shape().requests(), sign);
        }
        if (r.shape() != null && !r.bound()) {
            Map<WorkerShape, Integer> shapes = unbound.computeIfAbsent(r.member(), k -> new HashMap<>());
            shapes.merge(r.shape(), sign, (a, b) -> a + b == 0 ? null : a + b);
            if (shapes.isEmpty()) {
                unbound.remove(r.member());
            }
        }
        if (r.shape() != null && r.bound()) {
            Map<WorkerShape, Map<String, NodeRecord>> shapes = unconfirmed.computeIfAbsent(r.member(), k -> new HashMap<>());
            if (sign > 0) {
                shapes.computeIfAbsent(r.shape(), k -> new HashMap<>()).put(r.id(), r);
            } else {
                Map<String, NodeRecord> ids = shapes.get(r.shape());
                if (ids != null && ids.remove(r.id(), r) && ids.isEmpty()) {
                    shapes.remove(r.shape());
                }
            }
        }
        if (r.requestId() != null) {
            TreeMap<String, NodeRecord> made = byRequestId.computeIfAbsent(r.requestId(), k -> new TreeMap<>());
            if (sign > 0) {
                made.put(r.id(), r);
            } else if (made.remove(r.id(), r) && made.isEmpty()) {
                byRequestId.remove(r.requestId());
            }
        }
    }

    private static void count(Map<String, Integer> counts, String key, int sign) {
        counts.merge(key, sign, (a, b) -> a + b == 0 ? null : a + b);
    }

    private static void sum(Map<String, Map<String, Long>> sums, String key, ResourceVector v, int sign) {
        Map<String, Long> s = sums.computeIfAbsent(key, k -> new HashMap<>());
        v.milli().forEach((resource, milli) -> s.merge(resource, sign * milli, (a, b) -> a + b == 0 ? null : a + b));
        if (s.isEmpty()) {
            sums.remove(key);
        }
    }

    int countPool(String pool) {
        return livePerPool.getOrDefault(pool, 0);
    }

    Map<String, Integer> countPoolByMember(String pool) {
        return new HashMap<>(livePerPoolMember.getOrDefault(pool, Map.of()));
    }

    ResourceVector usage(String virtualCluster) {
        return new ResourceVector(liveResourcesPerVirtualCluster.getOrDefault(virtualCluster, Map.of()));
    }

    ResourceVector memberUsage(String member) {
        return new ResourceVector(requestsPerMember.getOrDefault(member, Map.of()));
    }

    List<NodeRecord> byRequestId(String requestId) {
        TreeMap<String, NodeRecord> made = byRequestId.get(requestId);
        return made == null ? new ArrayList<>() : new ArrayList<>(made.values());
    }

    /**
     * The records of a member to keep room for, per shape: every one not bound to a Kubernetes node, and every
     * bound one that its capacity does not count yet ({@code counted}). An unbound record is not asked about: should
     * the member's capacity count it already (its watch saw the binding before ours did), room is kept twice for that
     * moment, which errs on the safe side. A bound record seen counted once is not asked about again until it
     * changes (it is then a new record): a member's capacity counts one of our pods from its binding until the pod
     * ends, and the end of a pod changes its record too. So a request costs the number of shapes and of our pods
     * bound but not yet counted, not the number of all our pods.
     */
    Map<WorkerShape, Integer> reservations(String member, Predicate<NodeRecord> counted) {
        Map<WorkerShape, Integer> out = new HashMap<>(unbound.getOrDefault(member, Map.of()));
        Map<WorkerShape, Map<String, NodeRecord>> shapes = unconfirmed.getOrDefault(member, Map.of());
        for (Iterator<Map.Entry<WorkerShape, Map<String, NodeRecord>>> s = shapes.entrySet().iterator(); s.hasNext(); ) {
            Map.Entry<WorkerShape, Map<String, NodeRecord>> shape = s.next();
            for (Iterator<NodeRecord> r = shape.getValue().values().iterator(); r.hasNext(); ) {
                if (counted.test(r.next())) {
                    r.remove();
                } else {
                    out.merge(shape.getKey(), 1, Integer::sum);
                }
            }
            if (shape.getValue().isEmpty()) {
                s.remove();
            }
        }
        return out;
    }
}
