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
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The body of GET /v1/nodes, {"revision", "nodes": [Node]}, built without rendering every node per change: each
 * node's JSON is rendered once and kept with its record (records are immutable, so a changed node is a new record
 * and only it is rendered again), and a body is the concatenation of those fragments, copied once into a buffer of
 * exactly its size. The full listing is kept for its revision and sent as is (Vert.x sends a slice of the buffer,
 * not a copy). Thread-safe.
 */
public final class NodeListing {

    private static final byte[] TRUE = "true".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "]}".getBytes(StandardCharsets.US_ASCII);

    private final Map<String, Fragment> fragments = new HashMap<>();
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
                full = cached;
            }
            return cached.buffer();
        }
    }

    /** The nodes of the snapshot that {@code filter} accepts (rendered per call: filtered listings are not kept). */
    public synchronized Buffer matching(NodeRegistry.Snapshot snapshot, String revision, Predicate<NodeRecord> filter) {
        return render(snapshot, revision, filter);
    }

    private Buffer render(NodeRegistry.Snapshot snapshot, String revision, Predicate<NodeRecord> filter) {
        byte[] start = start(revision);
        List<Fragment> parts = new ArrayList<>(snapshot.nodes().size());
        long size = start.length + END.length;
        for (NodeRecord n : snapshot.nodes()) {
            if (filter.test(n)) {
                Fragment f = fragments.get(n.id());
                if (f == null || f.record() != n) {
                    f = Fragment.of(n);
                    fragments.put(n.id(), f);
                }
                parts.add(f);
                size += f.length(snapshot.stale(n)) + 1;
            }
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
        return body.appendBytes(END);
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

    /** {"revision":"...","nodes":[ written by the JSON generator, so escaped as the nodes are. */
    private static byte[] start(String revision) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(64);
        try (JsonGenerator g = Json.MAPPER.getFactory().createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("revision", revision);
            g.writeArrayFieldStart("nodes");
            g.flush();
            return out.toByteArray(); // taken before the generator closes (and ends) the object
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
