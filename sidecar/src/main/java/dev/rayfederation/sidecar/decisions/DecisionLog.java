package dev.rayfederation.sidecar.decisions;

import dev.rayfederation.sidecar.registry.NodeRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The last {@link #DEFAULT_CAPACITY} placement decisions, newest first, in memory: why each worker went where it
 * went. Listeners (the Kubernetes Events on pods) hear every decision as it is recorded. Thread-safe.
 */
public final class DecisionLog {

    private static final Logger LOG = LoggerFactory.getLogger(DecisionLog.class);
    public static final int DEFAULT_CAPACITY = 1000;

    private final int capacity;
    private final Clock clock;
    private final Deque<Decision> decisions = new ArrayDeque<>();
    private final List<Consumer<Decision>> listeners = new CopyOnWriteArrayList<>();

    public DecisionLog(int capacity, Clock clock) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
        }
        this.capacity = capacity;
        this.clock = clock;
    }

    public DecisionLog(Clock clock) {
        this(DEFAULT_CAPACITY, clock);
    }

    public int capacity() {
        return capacity;
    }

    /** {@code listener} hears every decision recorded from now on (on the recording thread: keep it quick). */
    public void listen(Consumer<Decision> listener) {
        listeners.add(listener);
    }

    public void record(Decision d) {
        synchronized (decisions) {
            decisions.addFirst(d);
            while (decisions.size() > capacity) {
                decisions.removeLast();
            }
        }
        for (Consumer<Decision> l : listeners) {
            try {
                l.accept(d);
            } catch (RuntimeException e) {
                LOG.debug("decision listener failed: {}", e.toString());
            }
        }
    }

    /**
     * A create request's outcome: one PLACED decision per member that got workers (with the strategy and the whole
     * split in its reason), and one REJECTED for the workers not created.
     *
     * @param placed  the nodes placement chose, on the member each is on now
     * @param created the ids among them whose create succeeded
     * @param leftOut members the network preflight kept out and why, added to the placements' reason (null: none)
     */
    public void created(String pool, String nodeType, String strategy, int requested, List<NodeRecord> placed,
                        Collection<String> created, int rejected, String rejectReason, String rejectMessage,
                        String leftOut) {
        Set<String> ok = new HashSet<>(created);
        Map<String, List<String>> byMember = new TreeMap<>();
        for (NodeRecord n : placed) {
            if (ok.contains(n.id())) {
                byMember.computeIfAbsent(n.member(), m -> new ArrayList<>()).add(n.id());
            }
        }
        StringBuilder split = new StringBuilder();
        byMember.forEach((m, ids) -> split.append(split.isEmpty() ? "" : ", ").append(m).append(' ').append(ids.size()));
        String summary = strategy + ": " + ok.size() + " of " + requested + " requested placed (" + split + ")"
                + (rejected > 0 ? ", " + rejected + " rejected" : "")
                + (leftOut == null ? "" : "; left out: " + leftOut);
        byMember.forEach((member, ids) -> record(new Decision(clock.instant(), Decision.Kind.PLACED, pool, nodeType, null,
                member, ids, ids.size(), summary)));
        if (rejected > 0) {
            record(new Decision(clock.instant(), Decision.Kind.REJECTED, pool, nodeType, null, null, List.of(), rejected,
                    rejectReason + ": " + rejectMessage));
        }
    }

    /** A stuck worker moved to another member. */
    public void replaced(NodeRecord before, String to, String why) {
        record(new Decision(clock.instant(), Decision.Kind.REPLACED, before.pool(), before.nodeType(), before.member(), to,
                List.of(before.id()), 1, "re-placed from " + before.member() + ": " + why));
    }

    /** Workers Ray terminated: one decision per pool and member. */
    public void terminated(List<NodeRecord> nodes) {
        Map<List<String>, List<NodeRecord>> groups = new LinkedHashMap<>();
        for (NodeRecord n : nodes) {
            groups.computeIfAbsent(List.of(n.pool(), n.member()), k -> new ArrayList<>()).add(n);
        }
        groups.forEach((key, group) -> record(new Decision(clock.instant(), Decision.Kind.TERMINATED, key.get(0),
                group.get(0).nodeType(), key.get(1), null, group.stream().map(NodeRecord::id).toList(), group.size(),
                "terminated at Ray's request")));
    }

    /** The newest decisions first, at most {@code limit}, filtered by pool, member and kind (null: any). */
    public List<Decision> query(String pool, String member, Decision.Kind kind, int limit) {
        List<Decision> out = new ArrayList<>();
        synchronized (decisions) {
            for (Decision d : decisions) {
                if (out.size() >= limit) {
                    break;
                }
                if ((pool == null || pool.equals(d.pool())) && (member == null || d.concerns(member))
                        && (kind == null || kind == d.kind())) {
                    out.add(d);
                }
            }
        }
        return out;
    }
}
