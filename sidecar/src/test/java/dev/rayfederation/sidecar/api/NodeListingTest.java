package dev.rayfederation.sidecar.api;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.rayfederation.sidecar.json.Json;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRegistry.Snapshot;
import dev.rayfederation.sidecar.registry.NodeStatus;
import dev.rayfederation.sidecar.registry.RayTags;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

@DisplayName("GET /v1/nodes built from per-node fragments is byte for byte what rendering every node gives")
class NodeListingTest {

    private static final List<String> MEMBERS = List.of("aws-use1", "gcp-usc1", "azure-eu");
    /** Values with what JSON must escape: quotes, backslashes, control characters, non-ASCII, and the stale key. */
    private static final List<String> AWKWARD = List.of("plain", "with \"quotes\"", "back\\slash", "tab\tand\nnewline",
            "\u0001ctl", "ünïcødé ✓", "\"stale\":false", "", "😀 astral");

    private final Random random = new Random(20261205);

    @Test
    void everyListingEqualsAFullRender() {
        List<NodeRecord> nodes = new ArrayList<>();
        for (int i = 0; i < 3_000; i++) {
            nodes.add(node(String.format("rf-%09d%08d", i, random.nextInt(100_000_000))));
        }
        NodeListing listing = new NodeListing();
        for (int revision = 1; revision <= 30; revision++) {
            // a few nodes change, come or go, and members go stale and back between revisions
            for (int k = random.nextInt(40); k > 0; k--) {
                int at = random.nextInt(nodes.size());
                switch (random.nextInt(3)) {
                    case 0 -> nodes.set(at, nodes.get(at).withTags(Map.of("k", pick(AWKWARD))));
                    case 1 -> nodes.remove(at);
                    default -> nodes.add(node("rf-new-" + revision + "-" + k));
                }
            }
            Set<String> stale = random.nextInt(3) == 0 ? Set.of(pick(MEMBERS)) : Set.of();
            Snapshot snapshot = new Snapshot(revision, List.copyOf(nodes), stale);
            String etag = "b00t1d-" + revision;

            assertThat(listing.all(snapshot, etag).getBytes()).as("revision " + revision)
                    .isEqualTo(fullRender(snapshot, etag, n -> true));
            String member = pick(MEMBERS);
            Predicate<NodeRecord> filter = n -> n.member().equals(member);
            assertThat(listing.matching(snapshot, etag, filter).getBytes()).as("revision " + revision + ", filtered")
                    .isEqualTo(fullRender(snapshot, etag, filter));
        }
    }

    @Test
    void anEmptyListingIsValidJson() throws IOException {
        Snapshot empty = new Snapshot(7, List.of(), Set.of());

        byte[] body = new NodeListing().all(empty, "b00t1d-7").getBytes();

        assertThat(body).isEqualTo(fullRender(empty, "b00t1d-7", n -> true));
        assertThat(Json.MAPPER.readTree(body).path("nodes").size()).isZero();
    }

    private NodeRecord node(String id) {
        Map<String, String> tags = new TreeMap<>();
        tags.put(RayTags.NODE_KIND, random.nextInt(10) == 0 ? "head" : "worker");
        tags.put(RayTags.USER_NODE_TYPE, "cpu");
        tags.put("ray-launch-config", Long.toHexString(random.nextLong()));
        if (random.nextBoolean()) {
            tags.put("custom-" + random.nextInt(5), pick(AWKWARD));
        }
        return NodeRecord.builder().id(id).nodeType("cpu").pool("cpu").virtualCluster(pick(AWKWARD))
                .member(pick(MEMBERS)).podName("pod-" + id).tags(tags)
                .status(random.nextBoolean() ? "up-to-date" : NodeStatus.SCHEDULING)
                .internalIp(random.nextBoolean() ? null : "10.0." + random.nextInt(250) + "." + random.nextInt(250))
                .phase(NodeRecord.Phase.POD).requestId("r").requestHash("h").requestCount(1)
                .created(Instant.EPOCH).reason(random.nextInt(4) == 0 ? pick(AWKWARD) : null).build();
    }

    private <T> T pick(List<T> from) {
        return from.get(random.nextInt(from.size()));
    }

    /** The listing as it was rendered before fragments: every node written by one JSON generator. */
    private static byte[] fullRender(Snapshot snapshot, String revision, Predicate<NodeRecord> filter) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = Json.MAPPER.getFactory().createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("revision", revision);
            g.writeArrayFieldStart("nodes");
            for (NodeRecord n : snapshot.nodes()) {
                if (filter.test(n)) {
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
                    g.writeBooleanField("stale", snapshot.stale(n));
                    g.writeStringField("reason", n.reason());
                    g.writeEndObject();
                }
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
