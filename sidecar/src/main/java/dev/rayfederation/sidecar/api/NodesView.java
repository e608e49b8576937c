package dev.rayfederation.sidecar.api;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.rayfederation.sidecar.json.Json;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import dev.rayfederation.sidecar.registry.RayTags;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

/** The Node document, written in one place for GET /v1/nodes and PUT /v1/nodes/{id}/tags; streamed to bytes. */
public final class NodesView {

    private NodesView() {
    }

    /** {"revision", "nodes": [Node]}: the hot read path. */
    public static byte[] list(NodeRegistry.Snapshot snapshot, String revision, Predicate<NodeRecord> filter) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 + snapshot.nodes().size() * 512);
        try (JsonGenerator g = Json.MAPPER.getFactory().createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("revision", revision);
            g.writeArrayFieldStart("nodes");
            for (NodeRecord n : snapshot.nodes()) {
                if (filter.test(n)) {
                    write(g, n, snapshot.stale(n));
                }
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** One Node. */
    static byte[] one(NodeRecord n, boolean stale) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(512);
        try (JsonGenerator g = Json.MAPPER.getFactory().createGenerator(out)) {
            write(g, n, stale);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void write(JsonGenerator g, NodeRecord n, boolean stale) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", n.id());
        g.writeStringField("kind", n.tags().getOrDefault(RayTags.NODE_KIND, "worker"));
        g.writeStringField("nodeType", n.nodeType());
        g.writeStringField("status", n.status());
        g.writeStringField("internalIp", n.internalIp());
        g.writeStringField("externalIp", n.externalIp());
        g.writeObjectFieldStart("tags");
        for (Map.Entry<String, String> t : new TreeMap<>(n.tags()).entrySet()) {
            g.writeStringField(t.getKey(), t.getValue());
        }
        g.writeEndObject();
        g.writeStringField("cluster", n.member());
        g.writeStringField("pool", n.pool());
        g.writeStringField("virtualCluster", n.virtualCluster());
        g.writeBooleanField("stale", stale);
        g.writeStringField("reason", n.reason());
        g.writeEndObject();
    }
}
