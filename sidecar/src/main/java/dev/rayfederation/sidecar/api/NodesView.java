package dev.rayfederation.sidecar.api;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.rayfederation.sidecar.json.Json;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.RayTags;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * The Node document, written in one place for GET /v1/nodes ({@link NodeListing}, from {@link Fragment}s) and
 * PUT /v1/nodes/{id}/tags ({@link #one}); streamed to bytes.
 */
public final class NodesView {

    private static final byte[] FALSE = "false".getBytes(StandardCharsets.US_ASCII);

    private NodesView() {
    }

    /**
     * One node's JSON as the listing shows it when its member is reachable; {@code staleAt} is where its
     * {@code "stale"} value ({@code false}) starts, so the listing can write {@code true} there instead without
     * rendering the node again.
     */
    record Fragment(NodeRecord record, byte[] json, int staleAt) {

        static Fragment of(NodeRecord n) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(512);
            int staleEnd;
            try (JsonGenerator g = Json.MAPPER.getFactory().createGenerator(out)) {
                writeUpToStale(g, n, false);
                g.flush();
                staleEnd = out.size();
                writeRest(g, n);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            byte[] json = out.toByteArray();
            int staleAt = staleEnd - FALSE.length;
            if (!Arrays.equals(json, staleAt, staleEnd, FALSE, 0, FALSE.length)) {
                throw new IllegalStateException("node " + n.id() + ": no stale value where expected");
            }
            return new Fragment(n, json, staleAt);
        }

        /** Its length in the listing. */
        int length(boolean stale) {
            return stale ? json.length - 1 : json.length;
        }
    }

    /** One Node. */
    static byte[] one(NodeRecord n, boolean stale) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(512);
        try (JsonGenerator g = Json.MAPPER.getFactory().createGenerator(out)) {
            writeUpToStale(g, n, stale);
            writeRest(g, n);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void writeUpToStale(JsonGenerator g, NodeRecord n, boolean stale) throws IOException {
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
    }

    private static void writeRest(JsonGenerator g, NodeRecord n) throws IOException {
        g.writeStringField("reason", n.reason());
        g.writeEndObject();
    }
}
