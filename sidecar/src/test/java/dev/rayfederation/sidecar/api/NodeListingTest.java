package dev.rayfederation.sidecar.api;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.HashMap;
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
    void changesSinceAnAnsweredRevisionAppliedToThatListingGiveTheNewListing() throws IOException {
        List<NodeRecord> nodes = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            nodes.add(node(String.format("rf-%09d", i)));
        }
        NodeListing listing = new NodeListing();
        Map<String, JsonNode> held = byId(Json.MAPPER.readTree(
                listing.all(new Snapshot(1, List.copyOf(nodes), Set.of()), "b00t1d-1").getBytes()));
        long heldRevision = 1;
        int next = 2_000;
        for (int revision = 2; revision <= 40; revision++) {
            for (int k = random.nextInt(40); k > 0; k--) {
                int at = random.nextInt(nodes.size());
                switch (random.nextInt(3)) {
                    case 0 -> nodes.set(at, nodes.get(at).withTags(Map.of("k", pick(AWKWARD))));
                    case 1 -> nodes.remove(at);
                    default -> nodes.add(node(String.format("rf-%09d", next++)));
                }
            }
            Set<String> stale = random.nextInt(3) == 0 ? Set.of(pick(MEMBERS)) : Set.of();
            Snapshot snapshot = new Snapshot(revision, List.copyOf(nodes), stale);
            String etag = "b00t1d-" + revision;
            if (random.nextInt(3) == 0) { // another client was answered; this one asks later, across several revisions
                listing.all(snapshot, etag);
                continue;
            }

            JsonNode delta = Json.MAPPER.readTree(listing.changes(snapshot, etag, heldRevision, "b00t1d-" + heldRevision)
                    .orElseThrow().getBytes());

            assertThat(delta.path("revision").asText()).isEqualTo(etag);
            assertThat(delta.path("since").asText()).isEqualTo("b00t1d-" + heldRevision);
            delta.path("removed").forEach(id -> assertThat(held.remove(id.asText())).as("removed " + id).isNotNull());
            held.putAll(byId(delta));
            assertThat(held).as("revision " + revision).isEqualTo(byId(Json.MAPPER.readTree(fullRender(snapshot, etag, n -> true))));
            heldRevision = revision;
        }
    }

    @Test
    void changesAreEmptyWhenNothingVisibleChanged() throws IOException {
        NodeListing listing = new NodeListing();
        List<NodeRecord> nodes = List.of(node("rf-a"), node("rf-b"));
        listing.all(new Snapshot(1, nodes, Set.of()), "b00t1d-1");
        // a new revision whose records are equal but not the same objects (a change that changed nothing)
        List<NodeRecord> equal = nodes.stream().map(n -> n.withTags(n.tags())).toList();

        JsonNode delta = Json.MAPPER.readTree(listing.changes(new Snapshot(2, equal, Set.of()), "b00t1d-2", 1, "b00t1d-1")
                .orElseThrow().getBytes());

        assertThat(delta.path("nodes").size()).isZero();
        assertThat(delta.path("removed").size()).isZero();
    }

    @Test
    void changesSinceARevisionNeverAnsweredOrPushedOutAreNotOffered() {
        NodeListing listing = new NodeListing();
        List<NodeRecord> nodes = new ArrayList<>(List.of(node("rf-a")));
        listing.all(new Snapshot(1, List.copyOf(nodes), Set.of()), "b00t1d-1");

        assertThat(listing.changes(new Snapshot(3, List.copyOf(nodes), Set.of()), "b00t1d-3", 2, "b00t1d-2")).isEmpty();
        for (int revision = 4; revision < 4 + NodeListing.HISTORY; revision++) {
            nodes.add(node("rf-b" + revision));
            listing.all(new Snapshot(revision, List.copyOf(nodes), Set.of()), "b00t1d-" + revision);
        }
        Snapshot now = new Snapshot(100, List.copyOf(nodes), Set.of());
        assertThat(listing.changes(now, "b00t1d-100", 1, "b00t1d-1")).as("pushed out").isEmpty();
        assertThat(listing.changes(now, "b00t1d-100", 4, "b00t1d-4")).as("still held").isPresent();
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

    private static Map<String, JsonNode> byId(JsonNode listing) {
        Map<String, JsonNode> byId = new HashMap<>();
        listing.path("nodes").forEach(n -> byId.put(n.path("id").asText(), n));
        return byId;
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
