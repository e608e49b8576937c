package dev.rayfederation.sidecar.registry;

import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.resources.WorkerShape;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * Every worker node the sidecar knows, in memory, keyed by node id (ids are time-ordered, so the snapshot
 * lists nodes oldest first). Rebuilt from the members' pods at start-up; changed by create, terminate and
 * informer events. Each visible change bumps the revision, which is what GET /v1/nodes' ETag is made of.
 * All methods are thread-safe (one monitor: changes are short and in memory). The sums and indexes placement
 * reads ({@link NodeIndex}) are updated with each change under that monitor, so no question placement asks scans
 * the registry.
 */
public final class NodeRegistry {

    private final TreeMap<String, NodeRecord> nodes = new TreeMap<>();
    private final NodeIndex index = new NodeIndex();
    private final Set<String> staleMembers = new HashSet<>();
    private final Tombstones tombstones = new Tombstones(100_000);
    private long revision = 1;
    private volatile long lastChangeMillis = System.currentTimeMillis();
    private Snapshot snapshot;

    /** An immutable view of the live nodes at one revision. */
    public record Snapshot(long revision, List<NodeRecord> nodes, Set<String> staleMembers) {
        public boolean stale(NodeRecord n) {
            return staleMembers.contains(n.member());
        }
    }

    public synchronized long revision() {
        return revision;
    }

    private void changed() {
        revision++;
        lastChangeMillis = System.currentTimeMillis();
    }

    /** Wall-clock time of the last visible change (for the snapshot-age metric). */
    public long lastChangeMillis() {
        return lastChangeMillis;
    }

    /** The live nodes (not terminating) at the current revision; cached until the next change. */
    public synchronized Snapshot snapshot() {
        if (snapshot == null || snapshot.revision() != revision) {
            List<NodeRecord> live = new ArrayList<>(nodes.size());
            for (NodeRecord n : nodes.values()) {
                if (n.live()) {
                    live.add(n);
                }
            }
            snapshot = new Snapshot(revision, List.copyOf(live), Set.copyOf(staleMembers));
        }
        return snapshot;
    }

    public synchronized Optional<NodeRecord> get(String id) {
        return Optional.ofNullable(nodes.get(id));
    }

    public synchronized void put(NodeRecord node) {
        NodeRecord old = nodes.put(node.id(), node);
        if (!node.equals(old)) {
            index.replace(old, node);
            changed();
        }
    }

    public synchronized void putAll(Collection<NodeRecord> batch) {
        for (NodeRecord n : batch) {
            index.replace(nodes.put(n.id(), n), n);
        }
        if (!batch.isEmpty()) {
            changed();
        }
    }

    /** Applies {@code change} to the node if present; returns the new record. Bumps the revision only on change. */
    public synchronized Optional<NodeRecord> update(String id, UnaryOperator<NodeRecord> change) {
        NodeRecord old = nodes.get(id);
        if (old == null) {
            return Optional.empty();
        }
        NodeRecord now = change.apply(old);
        if (now == null) {
            nodes.remove(id);
            index.replace(old, null);
            changed();
            return Optional.empty();
        }
        if (!now.equals(old)) {
            nodes.put(id, now);
            index.replace(old, now);
            changed();
        }
        return Optional.of(now);
    }

    public synchronized Optional<NodeRecord> remove(String id) {
        NodeRecord old = nodes.remove(id);
        if (old != null) {
            index.replace(old, null);
            changed();
        }
        return Optional.ofNullable(old);
    }

    /**
     * The pod {@code podName} of node {@code id} in {@code member} is gone: drop the node unless it has moved on
     * to another pod (re-placement), and remember its id as gone so late events cannot bring it back.
     */
    public void forget(String id, String member, String podName) {
        boolean gone;
        synchronized (this) {
            NodeRecord r = nodes.get(id);
            if (r != null && r.member().equals(member) && r.podName().equals(podName)) {
                nodes.remove(id);
                index.replace(r, null);
                changed();
                gone = true;
            } else {
                gone = r == null;
            }
        }
        if (gone) {
            tombstones.add(id);
        }
    }

    /** True when node {@code id} was terminated or seen gone recently (see {@link #forget}). */
    public boolean gone(String id) {
        return tombstones.contains(id);
    }

    /** Marks a member's nodes stale (its API cannot be reached) or fresh again. */
    public synchronized void setStale(String member, boolean stale) {
        boolean changed = stale ? staleMembers.add(member) : staleMembers.remove(member);
        if (changed) {
            changed();
        }
    }

    /** Live nodes of a pool. */
    public synchronized int countPool(String pool) {
        return index.countPool(pool);
    }

    /** Live nodes of a pool, per member. */
    public synchronized Map<String, Integer> countPoolByMember(String pool) {
        return index.countPoolByMember(pool);
    }

    /** Ray resources used by the live nodes of a virtual cluster, across all members. */
    public synchronized ResourceVector usage(String virtualCluster) {
        return index.usage(virtualCluster);
    }

    /**
     * Capacity a member must keep for our workers that are placed there but that its capacity model does not count
     * ({@code counted} says): not yet bound to a Kubernetes node, or bound but not yet seen so by the member's
     * capacity. Terminating nodes are included while their pod may still hold room. Only bound records are asked
     * about, and one once counted not again until it changes (see {@link NodeIndex#reservations}).
     */
    public synchronized Map<WorkerShape, Integer> reservations(String member, Predicate<NodeRecord> counted) {
        return index.reservations(member, counted);
    }

    /** Total pod requests of our workers on a member (for its staticCapacity cap). */
    public synchronized ResourceVector memberUsage(String member) {
        return index.memberUsage(member);
    }

    /** All records (live and terminating) with a given create request id, in id order. */
    public synchronized List<NodeRecord> byRequestId(String requestId) {
        return index.byRequestId(requestId);
    }

    /** Every record, including terminating ones. */
    public synchronized List<NodeRecord> all() {
        return List.copyOf(nodes.values());
    }
}
