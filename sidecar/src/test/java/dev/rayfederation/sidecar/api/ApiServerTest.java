package dev.rayfederation.sidecar.api;

import dev.rayfederation.k8s.member.InMemoryMemberCluster;
import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.member.MemberState;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.placement.strategy.Strategies;
import dev.rayfederation.sidecar.config.FederationConfig.VirtualCluster;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.federation.Federation;
import dev.rayfederation.sidecar.provision.TestConfigs;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The node-provider API in-process, over real HTTP, with in-memory members. */
class ApiServerTest {

    private final Vertx vertx = Vertx.vertx();
    private final HttpClient http = HttpClient.newHttpClient();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final InMemoryMemberCluster aws = InMemoryMemberCluster.builder("aws-use1", "aws", 2,
            ResourceVector.ofQuantities(Map.of("CPU", "16", "memory", "64Gi"))).build();
    private final InMemoryMemberCluster gcp = InMemoryMemberCluster.builder("gcp-usc1", "gcp", 2,
            ResourceVector.ofQuantities(Map.of("CPU", "16", "memory", "64Gi", "GPU", "4"))).build();
    private Federation provisioner;
    private NodeRegistry registry;
    private FederationMetrics metrics;
    private HttpServer server;
    private String base;

    private void start(FederationConfig config, String token) throws Exception {
        Map<String, MemberCluster> members = new LinkedHashMap<>();
        members.put(aws.name(), aws);
        members.put(gcp.name(), gcp);
        registry = new NodeRegistry();
        metrics = new FederationMetrics().observe(config, registry, members);
        provisioner = new Federation(config, members, registry, scheduler, metrics);
        provisioner.start();
        server = vertx.createHttpServer().requestHandler(new ApiServer(vertx, provisioner, provisioner, token, metrics).router())
                .listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
        base = "http://127.0.0.1:" + server.actualPort();
    }

    private void start() throws Exception {
        start(TestConfigs.config(
                List.of(TestConfigs.cluster("aws-use1", "aws", 10), TestConfigs.cluster("gcp-usc1", "gcp", 5)),
                List.of(new VirtualCluster("vc-batch", ResourceVector.ofQuantities(Map.of("CPU", "40"))),
                        new VirtualCluster("vc-gpu", ResourceVector.EMPTY)),
                List.of(TestConfigs.pool("cpu-4", "vc-batch", Map.of("CPU", "4", "memory", "8Gi"), 50, Strategies.PRIORITY,
                                List.of("aws-use1", "gcp-usc1")),
                        TestConfigs.pool("gpu-1", "vc-gpu", Map.of("CPU", "4", "GPU", "1"), 6, Strategies.SPREAD,
                                List.of("gcp-usc1")),
                        TestConfigs.pool("huge", "vc-gpu", Map.of("CPU", "64"), 5, Strategies.SPREAD,
                                List.of("aws-use1", "gcp-usc1")))), null);
    }

    @AfterEach
    void stop() {
        vertx.close().await();
        scheduler.shutdownNow();
    }

    private record Reply(int status, JsonNode body, HttpResponse<String> raw) {
    }

    private Reply call(String method, String path, String body, Map<String, String> headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(b::header);
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        boolean isJson = r.headers().firstValue("Content-Type").orElse("").startsWith("application/json");
        JsonNode json = r.body().isEmpty() || !isJson ? null : dev.rayfederation.sidecar.json.Json.MAPPER.readTree(r.body());
        return new Reply(r.statusCode(), json, r);
    }

    private Reply post(String path, String body) throws Exception {
        return call("POST", path, body, Map.of("Content-Type", "application/json"));
    }

    private Reply get(String path) throws Exception {
        return call("GET", path, null, Map.of());
    }

    private int podCount() {
        return aws.pods().size() + gcp.pods().size();
    }

    @Test
    @DisplayName("A create places workers, answers their ids, and they appear in the snapshot as up-to-date")
    void createsAndLists() throws Exception {
        start();
        Reply r = post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":3,\"requestId\":\"r1\",\"tags\":{\"ray-node-type\":\"worker\",\"ray-user-node-type\":\"cpu-4\",\"ray-launch-request\":\"r1\"}}");
        assertThat(r.status()).isEqualTo(201);
        assertThat(r.body().at("/created")).hasSize(3);
        assertThat(r.body().at("/rejected/count").asInt()).isZero();
        Reply nodes = get("/v1/nodes");
        assertThat(nodes.body().at("/nodes")).hasSize(3);
        JsonNode n = nodes.body().at("/nodes/0");
        assertThat(n.at("/status").asText()).isEqualTo("up-to-date");
        assertThat(n.at("/tags/ray-node-status").asText()).isEqualTo("up-to-date");
        assertThat(n.at("/tags/ray-launch-request").asText()).isEqualTo("r1");
        assertThat(n.at("/cluster").asText()).isEqualTo("aws-use1");
        assertThat(n.at("/pool").asText()).isEqualTo("cpu-4");
        assertThat(n.at("/virtualCluster").asText()).isEqualTo("vc-batch");
        assertThat(n.at("/internalIp").asText()).startsWith("10.0.0.");
        assertThat(n.at("/stale").asBoolean()).isFalse();
    }

    @Test
    @DisplayName("A priority pool fills the preferred member, then spills over to the other")
    void spillsOver() throws Exception {
        start();
        // aws: 2 nodes x 16 CPU = 8 workers of 4 CPU; quota 40 CPU allows 10
        Reply r = post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":10,\"requestId\":\"r-spill\"}");
        assertThat(r.status()).isEqualTo(201);
        assertThat(r.body().at("/created")).hasSize(10);
        assertThat(aws.pods()).hasSize(8);
        assertThat(gcp.pods()).hasSize(2);
    }

    @Test
    @DisplayName("A shape no member could ever fit is rejected at once as infeasible, creating nothing")
    void infeasible() throws Exception {
        start();
        Reply r = post("/v1/nodes", "{\"nodeType\":\"huge\",\"count\":2,\"requestId\":\"r-huge\"}");
        assertThat(r.status()).isEqualTo(201);
        assertThat(r.body().at("/created")).isEmpty();
        assertThat(r.body().at("/rejected/count").asInt()).isEqualTo(2);
        assertThat(r.body().at("/rejected/reason").asText()).isEqualTo("infeasible");
        assertThat(r.body().at("/rejected/message").asText()).contains("aws-use1", "gcp-usc1");
        assertThat(podCount()).isZero();
    }

    @Test
    @DisplayName("Over the virtual cluster's quota the rest is rejected with reason quota")
    void quota() throws Exception {
        start();
        Reply r = post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":12,\"requestId\":\"r-q\"}");
        assertThat(r.body().at("/created")).hasSize(10);
        assertThat(r.body().at("/rejected/count").asInt()).isEqualTo(2);
        assertThat(r.body().at("/rejected/reason").asText()).isEqualTo("quota");
        assertThat(r.body().at("/rejected/message").asText()).contains("vc-batch", "CPU");
    }

    @Test
    @DisplayName("With no member able to take workers now, the request is rejected as unavailable")
    void unavailable() throws Exception {
        start();
        gcp.setState(MemberState.UNREACHABLE);
        Reply r = post("/v1/nodes", "{\"nodeType\":\"gpu-1\",\"count\":2,\"requestId\":\"r-u\"}");
        assertThat(r.body().at("/rejected/reason").asText()).isEqualTo("unavailable");
        assertThat(r.body().at("/rejected/message").asText()).contains("gcp-usc1 unreachable");
        assertThat(podCount()).isZero();
    }

    @Test
    @DisplayName("50 concurrent creates never exceed the quota nor maxWorkers")
    void concurrentCreatesRespectLimits() throws Exception {
        start();
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Callable<Reply>> calls = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                String body = "{\"nodeType\":\"" + (i % 2 == 0 ? "cpu-4" : "gpu-1") + "\",\"count\":2,\"requestId\":\"c" + i + "\"}";
                calls.add(() -> post("/v1/nodes", body));
            }
            int created = 0;
            for (Future<Reply> f : pool.invokeAll(calls)) {
                Reply r = f.get();
                assertThat(r.status()).isEqualTo(201);
                created += r.body().at("/created").size();
            }
            long cpuPods = podsOfPool("cpu-4");
            long gpuPods = podsOfPool("gpu-1");
            assertThat(cpuPods).isEqualTo(10);   // 40 CPU quota / 4 CPU
            assertThat(gpuPods).isEqualTo(6);    // maxWorkers 6
            assertThat(created).isEqualTo(16);
        } finally {
            pool.shutdownNow();
        }
    }

    private long podsOfPool(String pool) {
        return java.util.stream.Stream.concat(aws.pods().stream(), gcp.pods().stream()).filter(p -> p.pool().equals(pool)).count();
    }

    @Nested
    @DisplayName("Idempotency")
    class Idempotency {
        @Test
        void replaysTheFirstAnswerForARepeatedRequestIdAndCreatesNothing() throws Exception {
            start();
            String body = "{\"nodeType\":\"cpu-4\",\"count\":2,\"requestId\":\"same\"}";
            Reply first = post("/v1/nodes", body);
            int calls = aws.createCalls.get() + gcp.createCalls.get();
            Reply again = post("/v1/nodes", "{\"requestId\":\"same\",\"count\":2,\"nodeType\":\"cpu-4\"}");
            assertThat(first.status()).isEqualTo(201);
            assertThat(again.status()).isEqualTo(200);
            assertThat(again.body().at("/created")).isEqualTo(first.body().at("/created"));
            assertThat(aws.createCalls.get() + gcp.createCalls.get()).isEqualTo(calls);
            assertThat(podCount()).isEqualTo(2);
        }

        @Test
        void refusesTheSameRequestIdWithADifferentBody() throws Exception {
            start();
            post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":2,\"requestId\":\"same\"}");
            Reply clash = post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":3,\"requestId\":\"same\"}");
            assertThat(clash.status()).isEqualTo(409);
            assertThat(clash.body().at("/error/field").asText()).isEqualTo("requestId");
            assertThat(podCount()).isEqualTo(2);
        }
    }

    @Nested
    @DisplayName("Bad input gets a 4xx naming the field and changes nothing")
    class BadInput {
        @ParameterizedTest(name = "{0}")
        @CsvSource(delimiter = '|', value = {
                "malformed JSON|{\"nodeType\": |",
                "not an object|[1,2]|",
                "unknown field|{\"nodeType\":\"cpu-4\",\"count\":1,\"colour\":\"red\"}|colour",
                "unknown nodeType|{\"nodeType\":\"nope\",\"count\":1}|nodeType",
                "missing nodeType|{\"count\":1}|nodeType",
                "count zero|{\"nodeType\":\"cpu-4\",\"count\":0}|count",
                "count fractional|{\"nodeType\":\"cpu-4\",\"count\":1.5}|count",
                "count beyond maxWorkers|{\"nodeType\":\"gpu-1\",\"count\":7}|count",
                "tags not strings|{\"nodeType\":\"cpu-4\",\"count\":1,\"tags\":{\"a\":1}}|tags.a",
                "bad requestId|{\"nodeType\":\"cpu-4\",\"count\":1,\"requestId\":\"has space\"}|requestId",
                "a key given twice|{\"nodeType\":\"cpu-4\",\"count\":1,\"count\":5}|",
        })
        void createIsRefused(String what, String body, String field) throws Exception {
            start();
            long revision = registry.revision();
            Reply r = post("/v1/nodes", body);
            assertThat(r.status()).as(what).isEqualTo(400);
            assertThat(r.body().at("/error/code").asText()).isEqualTo("invalid");
            assertThat(r.body().at("/error/message").asText()).isNotBlank();
            if (field != null) {
                assertThat(r.body().at("/error/field").asText()).isEqualTo(field);
            }
            assertThat(podCount()).isZero();
            assertThat(registry.revision()).isEqualTo(revision);
        }

        @Test
        void jsonNestedTooDeeplyIsA400NotA500() throws Exception {
            start();
            String deep = "{\"nodeType\":\"cpu-4\",\"count\":1,\"nodeConfig\":" + "{\"a\":".repeat(2000) + "1"
                    + "}".repeat(2000) + "}";
            Reply r = post("/v1/nodes", deep);
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.body().at("/error/message").asText()).contains("nests deeper than");
            assertThat(podCount()).isZero();
        }

        @Test
        void aKeyGivenTwiceIsNamedAndNothingIsCreated() throws Exception {
            start();
            Reply r = post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":1,\"count\":5}");
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.body().at("/error/message").asText()).contains("Duplicate field 'count'");
            assertThat(podCount()).isZero();
        }

        @Test
        void tagsTooLargeForAPodsAnnotationsAreRefusedBeforeAnyPod() throws Exception {
            start();
            String tags = "{\"a\":\"" + "x".repeat(300 * 1024) + "\"}";
            Reply r = post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":1,\"tags\":" + tags + "}");
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.body().at("/error/field").asText()).isEqualTo("tags");
            assertThat(r.body().at("/error/message").asText()).contains("256 KiB");
            assertThat(podCount()).isZero();
        }

        @Test
        void rayLabelsLongerThanKubernetesAllowsAreRefusedNamingTheLabel() throws Exception {
            start();
            Reply value = post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":1,\"labels\":{\"zone\":\""
                    + "z".repeat(64) + "\"}}");
            assertThat(value.status()).isEqualTo(400);
            assertThat(value.body().at("/error/field").asText()).isEqualTo("labels.zone");
            assertThat(value.body().at("/error/message").asText()).contains("at most 63 characters").contains("got 64");
            Reply key = post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":1,\"labels\":{\"example.com/"
                    + "k".repeat(64) + "\":\"v\"}}");
            assertThat(key.status()).isEqualTo(400);
            assertThat(key.body().at("/error/field").asText()).isEqualTo("labels");
            assertThat(podCount()).isZero();

            Reply fine = post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":1,\"labels\":{\"example.com/"
                    + "k".repeat(63) + "\":\"" + "v".repeat(63) + "\"}}");
            assertThat(fine.status()).as("%s", fine.body()).isEqualTo(201);
            assertThat(podCount()).isEqualTo(1);
        }

        @Test
        void bodiesOverOneMebibyteAre413() throws Exception {
            start();
            String big = "{\"nodeType\":\"cpu-4\",\"count\":1,\"tags\":{\"x\":\"" + "a".repeat(1024 * 1024) + "\"}}";
            Reply r = post("/v1/nodes", big);
            assertThat(r.status()).isEqualTo(413);
            assertThat(r.body().at("/error/code").asText()).isEqualTo("too_large");
            assertThat(podCount()).isZero();
        }

        @Test
        void unknownIdsInTerminateAreReportedNotThrown() throws Exception {
            start();
            Reply created = post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":1,\"requestId\":\"t\"}");
            String id = created.body().at("/created/0").asText();
            Reply r = post("/v1/nodes:terminate", "{\"ids\":[\"" + id + "\",\"rf-nope\"]}");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body().at("/terminating/0").asText()).isEqualTo(id);
            assertThat(r.body().at("/unknown/0").asText()).isEqualTo("rf-nope");
            assertThat(get("/v1/nodes").body().at("/nodes")).isEmpty();
            assertThat(podCount()).isZero();
        }

        @Test
        void terminateWithoutIdsIsRefused() throws Exception {
            start();
            Reply r = post("/v1/nodes:terminate", "{\"id\":[\"x\"]}");
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.body().at("/error/field").asText()).isEqualTo("id");
        }

        @Test
        void unknownQueryParametersAreRefused() throws Exception {
            start();
            Reply r = get("/v1/nodes?colour=red");
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.body().at("/error/field").asText()).isEqualTo("colour");
        }

        @Test
        void unknownEndpointsAnswerInTheErrorShape() throws Exception {
            start();
            Reply r = get("/v1/nope");
            assertThat(r.status()).isEqualTo(404);
            assertThat(r.body().at("/error/code").asText()).isEqualTo("not_found");
        }
    }

    @Test
    @DisplayName("GET /v1/nodes honours If-None-Match: 304 while unchanged, 200 with a new ETag after a change")
    void etag() throws Exception {
        start();
        post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":1,\"requestId\":\"e1\"}");
        Reply first = get("/v1/nodes");
        String etag = first.raw().headers().firstValue("ETag").orElseThrow();
        Reply same = call("GET", "/v1/nodes", null, Map.of("If-None-Match", etag));
        assertThat(same.status()).isEqualTo(304);
        assertThat(same.raw().body()).isEmpty();
        post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":1,\"requestId\":\"e2\"}");
        Reply changed = call("GET", "/v1/nodes", null, Map.of("If-None-Match", etag));
        assertThat(changed.status()).isEqualTo(200);
        assertThat(changed.raw().headers().firstValue("ETag").orElseThrow()).isNotEqualTo(etag);
        assertThat(changed.body().at("/nodes")).hasSize(2);
    }

    @Nested
    @DisplayName("GET /v1/nodes?since=<revision> answers what changed since an earlier listing")
    class Changes {

        @Test
        void listsTheNodesCreatedOrChangedAndTheIdsRemovedSinceThatRevision() throws Exception {
            start();
            String kept = post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":1,\"requestId\":\"d1\"}")
                    .body().at("/created/0").asText();
            String leaving = post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":1,\"requestId\":\"d2\"}")
                    .body().at("/created/0").asText();
            String since = get("/v1/nodes").body().at("/revision").asText();

            String added = post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":1,\"requestId\":\"d3\"}")
                    .body().at("/created/0").asText();
            call("PUT", "/v1/nodes/" + kept + "/tags", "{\"tags\":{\"team\":\"ml\"}}", Map.of());
            post("/v1/nodes:terminate", "{\"ids\":[\"" + leaving + "\"]}");
            Reply delta = get("/v1/nodes?since=" + since);

            assertThat(delta.status()).isEqualTo(200);
            assertThat(delta.body().at("/since").asText()).isEqualTo(since);
            assertThat(delta.body().at("/revision").asText()).isEqualTo(get("/v1/nodes").body().at("/revision").asText());
            assertThat(delta.body().at("/nodes").findValuesAsText("id")).containsExactlyInAnyOrder(kept, added);
            assertThat(delta.body().at("/nodes/0/tags/team").asText()).isEqualTo("ml");
            assertThat(delta.body().at("/removed")).extracting(JsonNode::asText).containsExactly(leaving);

            Reply nothing = get("/v1/nodes?since=" + delta.body().at("/revision").asText());
            assertThat(nothing.body().at("/nodes")).isEmpty();
            assertThat(nothing.body().at("/removed")).isEmpty();
        }

        @Test
        void aRevisionItNoLongerHoldsIsA410NamingSinceAndTheFullListingStillAnswers() throws Exception {
            start();
            String id = post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":1,\"requestId\":\"o0\"}")
                    .body().at("/created/0").asText();
            String old = get("/v1/nodes").body().at("/revision").asText();
            String held = null;
            for (int i = 1; i <= NodeListing.HISTORY; i++) { // each newly answered revision pushes the oldest out
                call("PUT", "/v1/nodes/" + id + "/tags", "{\"tags\":{\"n\":\"" + i + "\"}}", Map.of());
                String answered = get("/v1/nodes").body().at("/revision").asText();
                if (i == 1) {
                    held = answered;
                }
            }
            Reply tooOld = get("/v1/nodes?since=" + old);
            Reply otherBoot = get("/v1/nodes?since=0a0b0c0d-1");

            for (Reply gone : List.of(tooOld, otherBoot)) {
                assertThat(gone.status()).isEqualTo(410);
                assertThat(gone.body().at("/error/code").asText()).isEqualTo("gone");
                assertThat(gone.body().at("/error/field").asText()).isEqualTo("since");
                assertThat(gone.body().at("/error/message").asText()).contains("list without since");
            }
            assertThat(get("/v1/nodes?since=" + held).status()).as("the oldest revision still held").isEqualTo(200);
            Reply full = get("/v1/nodes");
            assertThat(full.body().at("/nodes")).hasSize(1);
            assertThat(full.body().at("/nodes/0/tags/n").asText()).isEqualTo(Integer.toString(NodeListing.HISTORY));
        }

        @Test
        void anUnchangedListingIsStillA304() throws Exception {
            start();
            Reply first = get("/v1/nodes");
            Reply same = call("GET", "/v1/nodes?since=" + first.body().at("/revision").asText(), null,
                    Map.of("If-None-Match", first.raw().headers().firstValue("ETag").orElseThrow()));
            assertThat(same.status()).isEqualTo(304);
        }

        @ParameterizedTest(name = "{0}")
        @ValueSource(strings = {"since=", "since=abc", "since=b00t-", "since=-5", "since=b00t-12x", "since=b00t-1&since=b00t-2",
                "since=b00t-1&tag.team=a"})
        void aBadSinceIsA400NamingIt(String query) throws Exception {
            start();
            Reply r = get("/v1/nodes?" + query);
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.body().at("/error/field").asText()).isEqualTo("since");
        }
    }

    @Test
    @DisplayName("Tag filters select nodes; tags set by PUT are merged and kept")
    void tags() throws Exception {
        start();
        String id = post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":1,\"requestId\":\"g1\",\"tags\":{\"team\":\"a\"}}")
                .body().at("/created/0").asText();
        post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":1,\"requestId\":\"g2\",\"tags\":{\"team\":\"b\"}}");
        assertThat(get("/v1/nodes?tag.team=a").body().at("/nodes")).hasSize(1);
        Reply put = call("PUT", "/v1/nodes/" + id + "/tags", "{\"tags\":{\"team\":\"c\",\"x\":\"y\"}}", Map.of());
        assertThat(put.status()).isEqualTo(200);
        assertThat(put.body().at("/tags/team").asText()).isEqualTo("c");
        assertThat(get("/v1/nodes?tag.team=c&tag.x=y").body().at("/nodes/0/id").asText()).isEqualTo(id);
        assertThat(call("PUT", "/v1/nodes/rf-nope/tags", "{\"tags\":{}}", Map.of()).status()).isEqualTo(404);
    }

    @Test
    @DisplayName("A pod deleted by someone else leaves the snapshot")
    void deletedBehindOurBack() throws Exception {
        start();
        post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":2,\"requestId\":\"d\"}");
        String pod = aws.pods().iterator().next().podName();
        aws.deleteBySomeoneElse(pod);
        assertThat(get("/v1/nodes").body().at("/nodes")).hasSize(1);
    }

    @Test
    @DisplayName("Nodes of an unreachable member stay in the snapshot, marked stale")
    void staleNodes() throws Exception {
        start();
        post("/v1/nodes", "{\"nodeType\":\"gpu-1\",\"count\":2,\"requestId\":\"s\"}");
        gcp.setState(MemberState.UNREACHABLE);
        JsonNode nodes = get("/v1/nodes").body().at("/nodes");
        assertThat(nodes).hasSize(2);
        assertThat(nodes.get(0).at("/stale").asBoolean()).isTrue();
    }

    @Test
    @DisplayName("A token protects every /v1 call: none or a wrong one is 401")
    void token() throws Exception {
        start(TestConfigs.config(List.of(TestConfigs.cluster("aws-use1", "aws", 0), TestConfigs.cluster("gcp-usc1", "gcp", 0)),
                List.of(new VirtualCluster("vc", ResourceVector.EMPTY)),
                List.of(TestConfigs.pool("p", "vc", Map.of("CPU", "1"), 5, Strategies.SPREAD, List.of("aws-use1")))), "s3cret");
        assertThat(get("/v1/nodes").status()).isEqualTo(401);
        assertThat(call("GET", "/v1/nodes", null, Map.of("Authorization", "Bearer wrong")).status()).isEqualTo(401);
        assertThat(call("GET", "/v1/nodes", null, Map.of("Authorization", "Bearer s3cret")).status()).isEqualTo(200);
    }

    @Test
    @DisplayName("A member cordoned over the API takes no new workers and shows who, why and since when; uncordon undoes it")
    void cordonsAndUncordons() throws Exception {
        start();
        Reply cordoned = post("/v1/clusters/aws-use1:cordon", "{\"by\":\"alice\",\"reason\":\"kernel upgrade\"}");
        assertThat(cordoned.status()).isEqualTo(200);
        assertThat(cordoned.body().at("/cordoned").asBoolean()).isTrue();
        assertThat(post("/v1/clusters/aws-use1:cordon", null).body().at("/cordonedBy").asText())
                .as("idempotent: the first cordon stays").isEqualTo("alice");

        post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":2,\"requestId\":\"c1\"}");
        assertThat(gcp.pods()).hasSize(2);
        assertThat(aws.pods()).isEmpty();
        JsonNode awsView = get("/v1/clusters").body().at("/clusters/0");
        assertThat(awsView.at("/cordoned").asBoolean()).isTrue();
        assertThat(awsView.at("/cordonedBy").asText()).isEqualTo("alice");
        assertThat(awsView.at("/cordonReason").asText()).isEqualTo("kernel upgrade");
        assertThat(awsView.at("/cordonedSince").asText()).isNotEmpty();

        assertThat(post("/v1/clusters/aws-use1:uncordon", null).body().at("/cordoned").asBoolean()).isFalse();
        post("/v1/nodes", "{\"nodeType\":\"cpu-4\",\"count\":1,\"requestId\":\"c2\"}");
        assertThat(aws.pods()).hasSize(1);

        Reply unknown = post("/v1/clusters/nope:cordon", null);
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.body().at("/error/message").asText()).contains("no member 'nope'", "aws-use1");
        Reply badField = post("/v1/clusters/aws-use1:cordon", "{\"who\":\"x\"}");
        assertThat(badField.status()).isEqualTo(400);
        assertThat(badField.body().at("/error/field").asText()).isEqualTo("who");
        assertThat(get("/v1/clusters").body().at("/clusters/0/cordoned").asBoolean()).as("a refused cordon changes nothing")
                .isFalse();
    }

    @Test
    @DisplayName("node-types, clusters and pools describe the federation")
    void describes() throws Exception {
        start();
        post("/v1/nodes", "{\"nodeType\":\"gpu-1\",\"count\":2,\"requestId\":\"x\"}");
        JsonNode types = get("/v1/node-types").body().at("/availableNodeTypes");
        assertThat(types.at("/gpu-1/resources/GPU").asInt()).isEqualTo(1);
        assertThat(types.at("/cpu-4/resources/memory").asLong()).isEqualTo(8L << 30);
        assertThat(types.at("/gpu-1/max_workers").asInt()).isEqualTo(6);
        assertThat(types.at("/gpu-1/labels/ray-federation.io~1virtual-cluster").asText()).isEqualTo("vc-gpu");
        JsonNode clusters = get("/v1/clusters").body().at("/clusters");
        assertThat(clusters).hasSize(2);
        assertThat(clusters.get(1).at("/name").asText()).isEqualTo("gcp-usc1");
        assertThat(clusters.get(1).at("/state").asText()).isEqualTo("healthy");
        assertThat(clusters.get(1).at("/nodes").asInt()).isEqualTo(2);
        JsonNode pools = get("/v1/pools").body();
        assertThat(pools.at("/pools/1/name").asText()).isEqualTo("gpu-1");
        assertThat(pools.at("/pools/1/byCluster/gcp-usc1").asInt()).isEqualTo(2);
        assertThat(pools.at("/virtualClusters/1/used/GPU").asText()).isEqualTo("2");
        assertThat(get("/v1/openapi.yaml").raw().body()).contains("/v1/nodes:terminate");
    }
}
