package dev.rayfederation.sidecar.sync;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.sidecar.placement.WorkerShapes;
import dev.rayfederation.sidecar.provision.Failures;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRecord.Phase;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Starts every member and knows when the sidecar is ready: once each member has synced or been marked
 * unreachable. Nodes from the state file stand in (stale) for a member that cannot be reached at start-up.
 */
public final class MemberStartup {

    private static final Logger LOG = LoggerFactory.getLogger(MemberStartup.class);

    private final Map<String, MemberCluster> members;
    private final NodeRegistry registry;
    private final WorkerShapes shapes;
    private final Map<String, CompletionStage<Void>> starts = new LinkedHashMap<>();
    private final Map<String, List<NodeRecord>> lastKnown = new ConcurrentHashMap<>();

    public MemberStartup(Map<String, MemberCluster> members, NodeRegistry registry, WorkerShapes shapes) {
        this.members = members;
        this.registry = registry;
        this.shapes = shapes;
    }

    /**
     * Takes in the state file's nodes before {@link #start()}: terminations not done yet go into the registry at
     * once (to be resumed), the rest wait to be shown if their member cannot be reached at start-up.
     */
    public void restore(StateStore store) {
        for (StateStore.StoredNode s : store.load()) {
            if (!members.containsKey(s.member())) {
                continue;
            }
            NodeRecord r = s.toRecord(shapes.of(s.pool(), s.member()));
            if (r.phase() == Phase.TERMINATING) {
                registry.put(r);
            } else {
                lastKnown.computeIfAbsent(r.member(), k -> new ArrayList<>()).add(r);
            }
        }
    }

    /** Starts every member; returns at once. */
    public synchronized void start() {
        for (MemberCluster m : members.values()) {
            starts.put(m.name(), m.start().thenRun(() -> lastKnown.remove(m.name())).exceptionally(e -> {
                LOG.warn("member {} is unreachable at start-up ({}); it is left out of placement and retried",
                        m.name(), Failures.rootMessage(e));
                List<NodeRecord> known = lastKnown.remove(m.name());
                if (known != null) {
                    LOG.info("member {}: showing {} node(s) from the state file as stale until it answers", m.name(),
                            known.size());
                    for (NodeRecord r : known) {
                        if (registry.get(r.id()).isEmpty()) {
                            registry.put(r);
                        }
                    }
                }
                return null;
            }));
        }
    }

    /** Ready once every member has synced or been marked unreachable. */
    public synchronized boolean ready() {
        return !starts.isEmpty() && starts.values().stream().allMatch(s -> s.toCompletableFuture().isDone());
    }

    /** Why the sidecar is not ready yet (empty when ready). */
    public synchronized List<String> notReadyReasons() {
        List<String> out = new ArrayList<>();
        if (starts.isEmpty()) {
            out.add("members not started");
        }
        starts.forEach((name, s) -> {
            if (!s.toCompletableFuture().isDone()) {
                out.add("member " + name + " has not synced yet");
            }
        });
        return out;
    }
}
