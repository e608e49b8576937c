package dev.rayfederation.sidecar.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.k8s.member.InMemoryMemberCluster;
import dev.rayfederation.k8s.member.MemberCluster;
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
import io.vertx.ext.web.Router;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The read-only views on the management port: GET /v1/clusters, /v1/pools and /v1/events without the API token
 * (which can create and terminate workers), 405 for anything but GET, 503 until the sidecar is ready.
 */
class ManagementViewsTest {

    private static final String TOKEN = "s3cret-token";

    private final Vertx vertx = Vertx.vertx();
    private final HttpClient http = HttpClient.newHttpClient();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final InMemoryMemberCluster aws = InMemoryMemberCluster.builder("aws-use1", "aws", 2,
            ResourceVector.ofQuantities(Map.of("CPU", "16", "memory", "64Gi"))).build();
    private Federation federation;
    private String api;
    private String management;

    @BeforeEach
    void serveBothPorts() throws Exception {
        FederationConfig config = TestConfigs.config(List.of(TestConfigs.cluster("aws-use1", "aws", 0)),
                List.of(new VirtualCluster("vc", ResourceVector.EMPTY)),
                List.of(TestConfigs.pool("cpu", "vc", Map.of("CPU", "4"), 10, Strategies.SPREAD, List.of("aws-use1"))));
        Map<String, MemberCluster> members = new LinkedHashMap<>();
        members.put(aws.name(), aws);
        NodeRegistry registry = new NodeRegistry();
        FederationMetrics metrics = new FederationMetrics().observe(config, registry, members);
        federation = new Federation(config, members, registry, scheduler, metrics);
        api = serve(new ApiServer(vertx, federation, federation, TOKEN, metrics).router());
        management = serve(new ManagementServer(vertx, config.management().listen(), federation, metrics::scrape).router());
    }

    private String serve(Router router) throws Exception {
        HttpServer server = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
        return "http://127.0.0.1:" + server.actualPort();
    }

    @AfterEach
    void stop() {
        vertx.close().await();
        scheduler.shutdownNow();
    }

    private HttpResponse<String> send(String method, String url, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).method(method, method.equals("GET")
                ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString("{\"ids\":[\"x\"]}"));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> r) throws Exception {
        return Json.MAPPER.readTree(r.body());
    }

    private void createOne() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(api + "/v1/nodes"))
                .header("Authorization", "Bearer " + TOKEN).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"nodeType\":\"cpu\",\"count\":1,\"requestId\":\"one\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    }

    @Test
    @DisplayName("clusters, pools and events need no token on the management port and say what the API says with it")
    void viewsWithoutTheToken() throws Exception {
        federation.start();
        createOne();

        for (String view : List.of("/v1/clusters", "/v1/pools", "/v1/events", "/v1/events?kind=placed&limit=5")) {
            HttpResponse<String> open = send("GET", management + view, null);
            assertThat(open.statusCode()).as("GET %s on the management port: %s", view, open.body()).isEqualTo(200);
            assertThat(send("GET", api + view, null).statusCode()).as("GET %s on the API without the token", view)
                    .isEqualTo(401);
            assertThat(json(open)).as(view).isEqualTo(json(send("GET", api + view, TOKEN)));
        }
        JsonNode events = json(send("GET", management + "/v1/events", null)).path("events");
        assertThat(events).singleElement().satisfies(e -> assertThat(e.path("kind").asText()).isEqualTo("placed"));
    }

    @Test
    @DisplayName("a bad filter on the management port answers 400 naming the parameter, as on the API")
    void badFilter() throws Exception {
        federation.start();
        HttpResponse<String> r = send("GET", management + "/v1/events?member=mars", null);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(json(r).at("/error/field").asText()).isEqualTo("member");
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
            "POST, /v1/events",
            "PUT, /v1/clusters",
            "DELETE, /v1/pools",
            "POST, /v1/nodes",
            "POST, /v1/nodes:terminate",
            "PATCH, /v1/nodes/x/tags",
    })
    @DisplayName("anything but GET under /v1/ answers 405 with Allow: GET, even with the API token, and changes nothing")
    void onlyGet(String method, String path) throws Exception {
        federation.start();
        createOne();

        HttpResponse<String> r = send(method, management + path, TOKEN);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(405);
        assertThat(r.headers().firstValue("Allow")).hasValue("GET");
        assertThat(json(r).at("/error/code").asText()).isEqualTo("method_not_allowed");
        assertThat(json(r).at("/error/message").asText()).contains("the management port is read-only", "api.listen");
        assertThat(aws.pods()).hasSize(1);
    }

    @Test
    @DisplayName("the API's other endpoints are not on the management port: 404 naming the views it serves")
    void otherEndpointsAreNotServed() throws Exception {
        federation.start();
        for (String path : List.of("/v1/nodes", "/v1/node-types", "/v1/openapi.yaml")) {
            HttpResponse<String> r = send("GET", management + path, TOKEN);
            assertThat(r.statusCode()).as(path).isEqualTo(404);
            assertThat(json(r).at("/error/message").asText())
                    .contains("this port serves only GET /v1/clusters, /v1/pools, /v1/events");
        }
    }

    @Test
    @DisplayName("the views answer 503 with Retry-After and the reasons until the sidecar is ready")
    void notReadyYet() throws Exception {
        for (String view : List.of("/v1/clusters", "/v1/pools", "/v1/events")) {
            HttpResponse<String> r = send("GET", management + view, null);
            assertThat(r.statusCode()).as(view).isEqualTo(503);
            assertThat(r.headers().firstValue("Retry-After")).hasValue("1");
            assertThat(json(r).at("/error/code").asText()).isEqualTo("not_ready");
            assertThat(json(r).at("/error/message").asText()).startsWith("not ready: ");
        }
        assertThat(send("GET", management + "/healthz", null).statusCode()).as("/healthz meanwhile").isEqualTo(200);

        federation.start();

        assertThat(send("GET", management + "/v1/clusters", null).statusCode()).isEqualTo(200);
    }
}
