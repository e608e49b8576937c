package dev.rayfederation.sidecar.antray;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.k8s.member.InMemoryMemberCluster;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.sidecar.api.ApiServer;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.AntRayCluster;
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
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The whole sidecar in-process (in-memory members, the node-provider API over HTTP) with ant-ray on: what
 * {@code GET /v1/pools} and the metrics show of each ant-ray virtual cluster, and that a dashboard that does not
 * answer never holds up a launch or a termination.
 */
class AntRayFederationTest {

    private static final Duration SHRINK_WAIT = Duration.ofSeconds(1);

    private final Vertx vertx = Vertx.vertx();
    private final HttpClient http = HttpClient.newHttpClient();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final FakeAntRayDashboard dashboard = new FakeAntRayDashboard();
    private final InMemoryMemberCluster aws = InMemoryMemberCluster.builder("aws-use1", "aws", 2,
            ResourceVector.ofQuantities(Map.of("CPU", "16", "memory", "64Gi"))).build();
    private FederationMetrics metrics;
    private String base;

    private void start(boolean antRay) throws Exception {
        FederationConfig c = TestConfigs.config(List.of(TestConfigs.cluster("aws-use1", "aws", 0)),
                List.of(new VirtualCluster("team-a", ResourceVector.ofQuantities(Map.of("CPU", "8")), new AntRayCluster("ant-a", false)),
                        new VirtualCluster("team-b", ResourceVector.EMPTY)),
                List.of(TestConfigs.pool("batch-a", "team-a", Map.of("CPU", "2"), 10, Strategies.SPREAD, List.of("aws-use1")),
                        TestConfigs.pool("batch-b", "team-b", Map.of("CPU", "2"), 10, Strategies.SPREAD, List.of("aws-use1"))));
        FederationConfig config = new FederationConfig(c.rayCluster(), c.api(), c.management(), c.clusters(),
                c.virtualClusters(), c.pools(), c.timing(), c.resilience(), c.replacement(),
                new FederationConfig.AntRay(antRay, dashboard.url(), Duration.ofSeconds(1), Duration.ofMillis(200), SHRINK_WAIT));
        Map<String, MemberCluster> members = new LinkedHashMap<>();
        members.put(aws.name(), aws);
        NodeRegistry registry = new NodeRegistry();
        metrics = new FederationMetrics().observe(config, registry, members);
        Federation federation = new Federation(config, members, registry, scheduler, metrics);
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
        dashboard.close();
    }

    private JsonNode call(String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return Json.MAPPER.readTree(http.send(b.build(), HttpResponse.BodyHandlers.ofString()).body());
    }

    private JsonNode teamA() throws Exception {
        return call("GET", "/v1/pools", null).at("/virtualClusters/0/antRay");
    }

    private List<String> create(int count, String requestId) throws Exception {
        JsonNode r = call("POST", "/v1/nodes", "{\"nodeType\":\"batch-a\",\"count\":" + count + ",\"requestId\":\"" + requestId + "\"}");
        assertThat(r.at("/created")).as("created %s", r).hasSize(count);
        return StreamSupport.stream(r.at("/created").spliterator(), false).map(JsonNode::asText).toList();
    }

    @Test
    @DisplayName("GET /v1/pools shows each virtual cluster as ant-ray holds it: its id, nodes, pending moves, last error")
    void poolsShowTheAntRayView() throws Exception {
        dashboard.joinIdle("ray-1", "batch-a");
        dashboard.joinIdle("ray-2", "batch-a");
        start(true);

        create(2, "r1");

        await().atMost(10, TimeUnit.SECONDS).until(() -> teamA().path("nodes").asInt() == 2);
        JsonNode a = teamA();
        assertThat(a.path("id").asText()).isEqualTo("ant-a");
        assertThat(a.path("nodesByTemplate")).isEqualTo(Json.MAPPER.readTree("{\"batch-a\":2}"));
        assertThat(a.path("pendingMoves").asInt()).isZero();
        assertThat(a.path("lastError").isNull()).isTrue();
        assertThat(a.path("lastSyncAt").asText()).isNotEmpty();
        JsonNode b = call("GET", "/v1/pools", null).at("/virtualClusters/1/antRay");
        assertThat(b.path("id").asText()).isEqualTo("team-b");
        assertThat(b.path("nodes").asInt()).isZero();
        assertThat(metrics.scrape()).contains("ray_federation_antray_nodes{virtual_cluster=\"team-a\"} 2");
    }

    @Test
    @DisplayName("With ant-ray off, GET /v1/pools has no antRay view and nothing calls a dashboard")
    void offMeansNoView() throws Exception {
        start(false);

        create(1, "r1");

        assertThat(call("GET", "/v1/pools", null).at("/virtualClusters/0").has("antRay")).isFalse();
        assertThat(metrics.scrape()).doesNotContain("ray_federation_antray_");
        assertThat(dashboard.requestCount()).isZero();
    }

    @Test
    @DisplayName("While the dashboard does not answer, launches and terminations go on; membership catches up after")
    void launchesAndTerminationsGoOnWhileTheDashboardIsAway() throws Exception {
        dashboard.goAway();
        start(true);
        dashboard.joinIdle("ray-1", "batch-a");
        dashboard.joinIdle("ray-2", "batch-a");

        List<String> ids = create(2, "r1");
        assertThat(aws.pods()).hasSize(2);
        await().atMost(10, TimeUnit.SECONDS).until(() -> teamA().path("pendingMoves").asInt() == 2);
        assertThat(teamA().path("lastError").asText()).startsWith("dashboard unreachable");
        assertThat(metrics.scrape()).contains("ray_federation_antray_in_error{virtual_cluster=\"team-a\"} 1");

        call("POST", "/v1/nodes:terminate", "{\"ids\":[\"" + ids.get(0) + "\"]}");
        await().atMost(SHRINK_WAIT.plusSeconds(10)).until(() -> aws.pods().size() == 1);

        dashboard.comeBack();
        await().atMost(40, TimeUnit.SECONDS).until(() -> teamA().path("lastError").isNull());
        assertThat(teamA().path("nodes").asInt()).isEqualTo(1);
        assertThat(teamA().path("pendingMoves").asInt()).isZero();
        assertThat(dashboard.nodes("ant-a")).hasSize(1);
        assertThat(aws.pods()).hasSize(1);
    }
}
