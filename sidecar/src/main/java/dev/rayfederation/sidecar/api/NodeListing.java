package dev.rayfederation.sidecar.api;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.rayfederation.sidecar.api.NodesView.Fragment;
import dev.rayfederation.sidecar.json.Json;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import io.vertx.core.buffer.Buffer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The body of GET /v1/nodes, {"revision", "nodes": [Node]}, built without rendering every node per change: each
 * node's JSON is rendered once and kept with its record (records are immutable, so a changed node is a new record
 * and only it is rendered again), and a body is the concatenation of those fragments, copied once into a buffer of
 * exactly its size. The full listing is kept for its revision and sent as is (Vert.x sends a slice of the buffer,
 * not a copy). The snapshots of the last {@value #HISTORY} listings answered are kept too, so a client holding one
 * of them can be told only what changed since ({@link #changes}). Thread-safe.
 */
public final class NodeListing {

    private static final byte[] TRUE = "true".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "]}".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] REMOVED = "],\"removed\":".getBytes(StandardCharsets.US_ASCII);
    /**
     * How many answered revisions a delta can start from. A client that polls holds the revision of its own last
     * answer, so a few suffice; each one kept costs a reference per listed node (~400 KB at 100,000 nodes).
     */
    static final int HISTORY = 16;

    private final Map<String, Fragment> fragments = new HashMap<>();
    /** The snapshots of the revisions answered, oldest first (guarded by this). */
    private final Map<Long, NodeRegistry.Snapshot> answered = new LinkedHashMap<>(HISTORY * 2, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, NodeRegistry.Snapshot> eldest) {
            return size() > HISTORY;
        }
    };
    private volatile Body full;

    private record Body(long revision, Buffer buffer) {
    }

    /** Every node of the snapshot; the same buffer for the same revision. */
    public Buffer all(NodeRegistry.Snapshot snapshot, String revision) {
        Body cached = full;
        if (cached != null && cached.revision() == snapshot.revision()) {
            return cached.buffer();
        }
        synchronized (this) {
            cached = full;
            if (cached == null || cached.revision() != snapshot.revision()) {
                cached = new Body(snapshot.revision(), render(snapshot, revision, n -> true));
                forgetGone(snapshot);
                answered.putIfAbsent(snapshot.revision(), snapshot);
                full = cached;
            }
            return cached.buffer();
        }
    }

    /** The nodes of the snapshot that {@code filter} accepts (rendered per call: filtered listings are not kept). */
    public synchronized Buffer matching(NodeRegistry.Snapshot snapshot, String revision, Predicate<NodeRecord> filter) {
        return render(snapshot, revision, filter);
    }

    /**
     * The nodes of {@code now} that changed since the answered revision {@code since} (new, edited, or whose
     * member's reachability changed), and the ids of those no longer listed:
     * {"revision", "since", "nodes": [Node], "removed": [id]}. Empty when {@code since} is not one of the last
     * {@value #HISTORY} revisions answered (too old, from before a restart, or never answered): the caller then
     * answers the full listing.
     */
    public synchronized Optional<Buffer> changes(NodeRegistry.Snapshot now, String revision, long since, String sinceText) {
        NodeRegistry.Snapshot then = answered.get(since);
        if (then == null) {
            return Optional.empty();
        }
        answered.putIfAbsent(now.revision(), now);
        forgetGone(now);
        List<NodeRecord> changed = new ArrayList<>();
        List<String> removed = new ArrayList<>();
        // Both lists are in id order (the registry's): one merge walk, no map.
        List<NodeRecord> before = then.nodes();
        List<NodeRecord> after = now.nodes();
        int i = 0;
        int j = 0;
        while (i < before.size() || j < after.size()) {
            NodeRecord b = i < before.size() ? before.get(i) : null;
            NodeRecord a = j < after.size() ? after.get(j) : null;
            int order = b == null ? 1 : a == null ? -1 : b.id().compareTo(a.id());
            if (order < 0) {
                removed.add(b.id());
                i++;
            } else if (order > 0) {
                changed.add(a);
                j++;
            } else {
                if ((a != b && !a.equals(b)) || then.stale(b) != now.stale(a)) {
                    changed.add(a);
                }
                i++;
                j++;
            }
        }
        byte[] start = start(revision, sinceText);
        byte[] tail;
        try {
            tail = Json.MAPPER.writeValueAsBytes(removed);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Optional.of(concatenate(start, now, changed, REMOVED.length + tail.length + 1)
                .appendBytes(REMOVED).appendBytes(tail).appendByte((byte) '}'));
    }

    private Buffer render(NodeRegistry.Snapshot snapshot, String revision, Predicate<NodeRecord> filter) {
        List<NodeRecord> listed = new ArrayList<>(snapshot.nodes().size());
        for (NodeRecord n : snapshot.nodes()) {
            if (filter.test(n)) {
                listed.add(n);
            }
        }
        return concatenate(start(revision, null), snapshot, listed, END.length).appendBytes(END);
    }

    /** {@code start}, then the nodes' fragments separated by commas, in a buffer with room for {@code end} more bytes. */
    private Buffer concatenate(byte[] start, NodeRegistry.Snapshot snapshot, List<NodeRecord> nodes, int end) {
        List<Fragment> parts = new ArrayList<>(nodes.size());
        long size = start.length + end;
        for (NodeRecord n : nodes) {
            Fragment f = fragments.get(n.id());
            if (f == null || f.record() != n) {
                f = Fragment.of(n);
                fragments.put(n.id(), f);
            }
            parts.add(f);
            size += f.length(snapshot.stale(n)) + 1;
        }
        if (size > Integer.MAX_VALUE) {
            throw new IllegalStateException("the node listing would take " + size + " bytes, more than one buffer holds");
        }
        Buffer body = Buffer.buffer((int) size).appendBytes(start);
        for (int i = 0; i < parts.size(); i++) {
            Fragment f = parts.get(i);
            if (i > 0) {
                body.appendByte((byte) ',');
            }
            if (snapshot.stale(f.record())) {
                int rest = f.staleAt() + 5; // after "false"
                body.appendBytes(f.json(), 0, f.staleAt()).appendBytes(TRUE)
                        .appendBytes(f.json(), rest, f.json().length - rest);
            } else {
                body.appendBytes(f.json());
            }
        }
        return body;
    }

    /** Drops the fragments of nodes no longer listed, once they outnumber the listed ones (so rarely). */
    private void forgetGone(NodeRegistry.Snapshot snapshot) {
        if (fragments.size() <= 2 * snapshot.nodes().size() + 64) {
            return;
        }
        Map<String, Fragment> listed = new HashMap<>(snapshot.nodes().size() * 2);
        for (NodeRecord n : snapshot.nodes()) {
            Fragment f = fragments.get(n.id());
            if (f != null) {
                listed.put(n.id(), f);
            }
        }
        fragments.clear();
        fragments.putAll(listed);
    }

    /**
     * {"revision":"...","nodes":[ (with "since":"..." before "nodes" when not null) written by the JSON generator,
     * so escaped as the nodes are.
     */
    private static byte[] start(String revision, String since) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(64);
        try (JsonGenerator g = Json.MAPPER.getFactory().createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("revision", revision);
            if (since != null) {
                g.writeStringField("since", since);
            }
            g.writeArrayFieldStart("nodes");
            g.flush();
            return out.toByteArray(); // taken before the generator closes (and ends) the object
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
