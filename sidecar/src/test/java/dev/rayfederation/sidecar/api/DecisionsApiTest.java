package dev.rayfederation.sidecar.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.k8s.member.InMemoryMemberCluster;
import dev.rayfederation.k8s.member.InMemoryMemberCluster.PostedEvent;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.member.WorkerPod;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.VirtualCluster;
import dev.rayfederation.sidecar.federation.Federation;
import dev.rayfederation.sidecar.json.Json;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.placement.strategy.Strategies;
import dev.rayfederation.sidecar.provision.TestConfigs;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * GET /v1/events over real HTTP with in-memory members: why each worker went where it went, newest first, and the
 * Kubernetes Events the same decisions leave on the pods.
 */
class DecisionsApiTest {

    private static final Duration PATIENCE = Duration.ofSeconds(20);

    private final Vertx vertx = Vertx.vertx();
    private final HttpClient http = HttpClient.newHttpClient();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final InMemoryMemberCluster aws = InMemoryMemberCluster.builder("aws-use1", "aws", 2,
            ResourceVector.ofQuantities(Map.of("CPU", "16", "memory", "64Gi"))).build();
    private final InMemoryMemberCluster gcp = InMemoryMemberCluster.builder("gcp-usc1", "gcp", 2,
            ResourceVector.ofQuantities(Map.of("CPU", "16", "memory", "64Gi"))).build();
    private Federation federation;
    private String base;

    @BeforeEach
    void start() throws Exception {
        FederationConfig config = TestConfigs.withReplacement(TestConfigs.config(
                        List.of(TestConfigs.cluster("aws-use1", "aws", 10), TestConfigs.cluster("gcp-usc1", "gcp", 0)),
                        List.of(new VirtualCluster("vc-batch", ResourceVector.ofQuantities(Map.of("CPU", "24"))),
                                new VirtualCluster("vc-big", ResourceVector.EMPTY)),
                        List.of(TestConfigs.pool("cpu-4", "vc-batch", Map.of("CPU", "4"), 50, Strategies.PRIORITY,
                                        List.of("aws-use1", "gcp-usc1")),
                                TestConfigs.pool("huge", "vc-big", Map.of("CPU", "64"), 5, Strategies.SPREAD,
                                        List.of("aws-use1", "gcp-usc1")))),
                // a worker Unschedulable for 200 ms moves; back-offs outlast the test
                new FederationConfig.Replacement(Duration.ofMillis(200), Duration.ofSeconds(30), Duration.ofSeconds(60),
                        Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofMinutes(10), Duration.ofMillis(50)));
        Map<String, MemberCluster> members = new LinkedHashMap<>();
        members.put(aws.name(), aws);
        members.put(gcp.name(), gcp);
        NodeRegistry registry = new NodeRegistry();
        FederationMetrics metrics = new FederationMetrics().observe(config, registry, members);
        federation = new Federation(config, members, registry, scheduler, metrics);
        federation.start();
        HttpServer server = vertx.createHttpServer()
                .requestHandler(new ApiServer(vertx, federation, federation, null, metrics).router())
                .listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
        base = "http://127.0.0.1:" + server.actualPort();
    }

    @AfterEach
    void stop() {
        vertx.close().await();
        scheduler.shutdownNow();
    }

    private record Reply(int status, JsonNode body) {
    }

    private Reply get(String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).build(),
                HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), Json.MAPPER.readTree(r.body()));
    }

    private List<String> create(String nodeType, int count, String requestId) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/nodes"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"nodeType\":\"" + nodeType + "\",\"count\":" + count
                        + ",\"requestId\":\"" + requestId + "\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        List<String> ids = new ArrayList<>();
        Json.MAPPER.readTree(r.body()).path("created").forEach(id -> ids.add(id.asText()));
        return ids;
    }

    private void terminate(String id) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/nodes:terminate"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"ids\":[\"" + id + "\"]}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }

    private List<JsonNode> events(String query) throws Exception {
        Reply r = get("/v1/events" + query);
        assertThat(r.status()).as("GET /v1/events%s: %s", query, r.body()).isEqualTo(200);
        List<JsonNode> out = new ArrayList<>();
        r.body().path("events").forEach(out::add);
        return out;
    }

    private static List<String> kinds(List<JsonNode> events) {
        return events.stream().map(e -> e.path("kind").asText()).toList();
    }

    private static List<String> ids(JsonNode event) {
        List<String> out = new ArrayList<>();
        event.path("nodeIds").forEach(id -> out.add(id.asText()));
        return out;
    }

    private String podOf(InMemoryMemberCluster member, String nodeId) {
        return member.pods().stream().filter(p -> p.nodeId().equals(nodeId)).map(WorkerPod::podName).findFirst()
                .orElseThrow(() -> new AssertionError("no pod of " + nodeId + " on " + member.name()));
    }

    /**
     * A placement on aws-use1, a rejection, a worker stuck on aws-use1 and re-placed on gcp-usc1, and a termination:
     * the log Ray's operators read.
     */
    private Story story() throws Exception {
        List<String> placed = create("cpu-4", 2, "first");
        create("huge", 2, "too-big");
        aws.stall(true);
        String moved = create("cpu-4", 1, "stuck").get(0);
        await("%s re-placed on gcp-usc1".formatted(moved)).atMost(PATIENCE)
                .until(() -> gcp.pods().stream().anyMatch(p -> p.nodeId().equals(moved)));
        aws.stall(false);
        terminate(placed.get(0));
        return new Story(placed, moved);
    }

    private record Story(List<String> placed, String moved) {
    }

    @Test
    @DisplayName("placement, rejection, re-placement and termination appear newest first, each with its reason")
    void theStoryNewestFirst() throws Exception {
        Story s = story();

        List<JsonNode> events = events("");

        assertThat(kinds(events)).containsExactly("terminated", "replaced", "placed", "rejected", "placed");
        JsonNode terminated = events.get(0);
        assertThat(terminated.path("pool").asText()).isEqualTo("cpu-4");
        assertThat(terminated.path("from").asText()).isEqualTo("aws-use1");
        assertThat(terminated.path("to").isNull()).isTrue();
        assertThat(ids(terminated)).containsExactly(s.placed().get(0));
        assertThat(terminated.path("reason").asText()).isEqualTo("terminated at Ray's request");

        JsonNode replaced = events.get(1);
        assertThat(replaced.path("from").asText()).isEqualTo("aws-use1");
        assertThat(replaced.path("to").asText()).isEqualTo("gcp-usc1");
        assertThat(ids(replaced)).containsExactly(s.moved());
        assertThat(replaced.path("count").asInt()).isEqualTo(1);
        assertThat(replaced.path("reason").asText()).startsWith("re-placed from aws-use1: ").contains("unschedulable");

        JsonNode stuck = events.get(2);
        assertThat(stuck.path("to").asText()).isEqualTo("aws-use1");
        assertThat(ids(stuck)).containsExactly(s.moved());

        JsonNode rejected = events.get(3);
        assertThat(rejected.path("pool").asText()).isEqualTo("huge");
        assertThat(rejected.path("count").asInt()).isEqualTo(2);
        assertThat(rejected.path("nodeIds")).isEmpty();
        assertThat(rejected.path("from").isNull() && rejected.path("to").isNull()).isTrue();
        assertThat(rejected.path("reason").asText()).startsWith("infeasible: ").contains("aws-use1", "gcp-usc1");

        JsonNode first = events.get(4);
        assertThat(first.path("pool").asText()).isEqualTo("cpu-4");
        assertThat(first.path("nodeType").asText()).isEqualTo("cpu-4");
        assertThat(first.path("from").isNull()).isTrue();
        assertThat(first.path("to").asText()).isEqualTo("aws-use1");
        assertThat(ids(first)).containsExactlyInAnyOrderElementsOf(s.placed());
        assertThat(first.path("count").asInt()).isEqualTo(2);
        assertThat(first.path("reason").asText()).isEqualTo("priority: 2 of 2 requested placed (aws-use1 2)");

        List<Instant> times = events.stream().map(e -> Instant.parse(e.path("time").asText())).toList();
        assertThat(times).as("newest first").isSortedAccordingTo((a, b) -> b.compareTo(a));
    }

    @Test
    @DisplayName("the placements and the re-placement leave Kubernetes Events on the pods that say why")
    void kubernetesEventsOnThePods() throws Exception {
        Story s = story();
        String kept = s.placed().get(1);

        await("Placed on aws-use1 and Replaced on gcp-usc1").atMost(PATIENCE).untilAsserted(() -> {
            assertThat(aws.events()).filteredOn(e -> e.podName().equals(podOf(aws, kept))).singleElement()
                    .satisfies(e -> {
                        assertThat(e.reason()).isEqualTo("Placed");
                        assertThat(e.warning()).isFalse();
                        assertThat(e.message()).isEqualTo("ray-federation placed this cpu-4 worker (pool cpu-4) on member"
                                + " aws-use1: priority: 2 of 2 requested placed (aws-use1 2)");
                    });
            assertThat(gcp.events()).extracting(PostedEvent::reason).containsExactly("Replaced");
            assertThat(gcp.events().get(0).podName()).isEqualTo(podOf(gcp, s.moved()));
            assertThat(gcp.events().get(0).message()).startsWith("ray-federation re-placed from aws-use1: ")
                    .endsWith("(pool cpu-4)");
        });
    }

    @Test
    @DisplayName("a worker refused by a member's admission is listed as re-placed and placed where it runs")
    void admissionRefusalPlacedWhereItRuns() throws Exception {
        aws.refuseCreates(403, "pods \"x\" is forbidden: violates PodSecurity \"restricted:latest\"");
        String id = create("cpu-4", 1, "refused").get(0);

        List<JsonNode> events = events("");

        assertThat(kinds(events)).containsExactly("placed", "replaced");
        assertThat(events.get(1).path("from").asText()).isEqualTo("aws-use1");
        assertThat(events.get(1).path("to").asText()).isEqualTo("gcp-usc1");
        assertThat(events.get(1).path("reason").asText()).contains("the member refused the pod", "PodSecurity");
        assertThat(events.get(0).path("to").asText()).as("placed where the worker runs").isEqualTo("gcp-usc1");
        assertThat(ids(events.get(0))).containsExactly(id);
        await("Replaced and Placed on the gcp-usc1 pod").atMost(PATIENCE).untilAsserted(() ->
                assertThat(gcp.events()).extracting(PostedEvent::reason).containsExactlyInAnyOrder("Replaced", "Placed"));
        assertThat(aws.events()).isEmpty();
    }

    @Test
    @DisplayName("pool, member, kind and limit filter the list")
    void filters() throws Exception {
        Story s = story();

        assertThat(kinds(events("?pool=huge"))).containsExactly("rejected");
        assertThat(kinds(events("?pool=cpu-4"))).containsExactly("terminated", "replaced", "placed", "placed");
        assertThat(kinds(events("?member=gcp-usc1"))).as("to or from gcp-usc1").containsExactly("replaced");
        assertThat(kinds(events("?member=aws-use1"))).containsExactly("terminated", "replaced", "placed", "placed");
        assertThat(kinds(events("?kind=placed"))).containsExactly("placed", "placed");
        assertThat(ids(events("?kind=placed&limit=1").get(0))).containsExactly(s.moved());
        assertThat(kinds(events("?limit=2"))).containsExactly("terminated", "replaced");
        assertThat(kinds(events("?pool=cpu-4&member=aws-use1&kind=placed&limit=1000"))).containsExactly("placed", "placed");
        assertThat(events("?pool=huge&kind=placed")).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "an unknown pool|?pool=gpu|pool|pool: no pool named 'gpu' (pools: cpu-4, huge)",
            "an unknown member|?member=mars|member|member: no member cluster named 'mars' (members: aws-use1, gcp-usc1)",
            "an unknown kind|?kind=moved|kind|kind: 'moved' is not one of placed, rejected, replaced, terminated",
            "limit 0|?limit=0|limit|limit: must be between 1 and 1000, got 0",
            "limit 1001|?limit=1001|limit|limit: must be between 1 and 1000, got 1001",
            "a limit that is not a number|?limit=ten|limit|limit: expected a whole number, got 'ten'",
            "an unknown parameter|?colour=red|colour|unknown query parameter 'colour'; filter with pool=, member=, kind=, limit=",
            "a parameter given twice|?pool=cpu-4&pool=huge|pool|query parameter 'pool' given 2 times; give it once",
    })
    @DisplayName("a bad query answers 400 naming the parameter, and changes nothing")
    void badQueries(String what, String query, String field, String message) throws Exception {
        create("cpu-4", 1, "before");
        List<JsonNode> before = events("");

        Reply r = get("/v1/events" + query);

        assertThat(r.status()).as(what).isEqualTo(400);
        assertThat(r.body().at("/error/code").asText()).isEqualTo("invalid");
        assertThat(r.body().at("/error/field").asText()).isEqualTo(field);
        assertThat(r.body().at("/error/message").asText()).isEqualTo(message);
        assertThat(events("")).isEqualTo(before);
        assertThat(aws.pods().size() + gcp.pods().size()).isEqualTo(1);
    }
}
