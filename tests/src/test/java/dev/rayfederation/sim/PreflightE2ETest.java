package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sim.SidecarConfig.Pool;
import dev.rayfederation.sim.SidecarConfig.VirtualCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The network preflight on simulated members whose probe pods run for real on this host ({@link PreflightRuntime}):
 * a member whose pods cannot reach the head is named and kept out of placement before any worker goes there, and
 * taken back once its retried probe passes.
 */
class PreflightE2ETest extends SidecarE2E {

    /** Stands in for the head's GCS port: probes that can reach it connect here. */
    private ServerSocket head;
    private PreflightRuntime runtime;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void startHead() throws IOException {
        head = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        runtime = new PreflightRuntime(PodRuntime.NONE, dir.resolve("probes"));
    }

    @AfterEach
    void stopHead() throws IOException {
        runtime.close();
        head.close();
    }

    /** m1 (preferred by priority) and m2; m1's pods cannot reach the head until {@link PreflightRuntime#cutOff} ends. */
    private void startWithM1CutOff() throws IOException {
        runtime.cutOff("m1", true);
        startMembers(2, c -> c.withCluster("m1", m -> m.withPriority(10)));
    }

    private SidecarConfig config;

    /** {@code count} members, their probe pods run for real; pool cpu (4 CPU) by priority; a quick retry. */
    private void startMembers(int count, java.util.function.UnaryOperator<SidecarConfig> more) throws IOException {
        int probePort;
        try (ServerSocket free = new ServerSocket(0)) {
            probePort = free.getLocalPort();
        }
        federation = SimulatedFederation.start(members(count, 2, 16), dir, c -> {
                    config = more.apply(c.withRayCluster("sim", "127.0.0.1:" + head.getLocalPort())
                            .withVirtualCluster(VirtualCluster.of("vc"))
                            .withPool(Pool.of("cpu", "vc", Map.of("CPU", 4, "memory", "8Gi")).withStrategy("priority"))
                            .with("preflight", Map.of("enabled", true, "enforce", true, "interval", "10m",
                                    "retryInterval", "2s", "timeout", "20s", "port", probePort)));
                    return config;
                },
                SimulatedKubelet.Options.defaults().withRuntime(runtime), SidecarProcess.Options.defaults());
    }

    private JsonNode preflightOf(String member) {
        for (JsonNode c : api().clusters().body().path("clusters")) {
            if (c.path("name").asText().equals(member)) {
                return c.path("preflight");
            }
        }
        throw new AssertionError("no member " + member + " in " + api().clusters());
    }

    private void awaitPreflight(String member, String result) {
        await("%s preflight %s".formatted(member, result)).atMost(DEADLINE).untilAsserted(() ->
                assertThat(preflightOf(member).path("result").asText()).as("%s", preflightOf(member)).isEqualTo(result));
    }

    private JsonNode readyz() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(federation.sidecar().managementUrl().resolve("/readyz"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("/readyz: a failed preflight does not make the sidecar unready: %s", r.body())
                .isEqualTo(200);
        return SidecarApi.JSON.readTree(r.body());
    }

    @Test
    @DisplayName("A member added by a live edit takes no workers before its first probe passes; one the head cannot reach is left out")
    void probesAMemberAddedLive() throws Exception {
        runtime.unreachableFromHead("m3", true);
        startMembers(3, c -> c.withoutCluster("m3"));
        awaitPreflight("m1", "ok");
        awaitPreflight("m2", "ok");

        // m3 joins with the highest priority; its pods reach the head, but the head cannot reach them. Workers are
        // asked for as soon as m3 has synced, without waiting for its probe: none may go there.
        federation.sidecar().rewriteConfig(config.withCluster(SidecarConfig.Cluster.of(federation.member("m3")).withPriority(10)));
        await("m3 synced").atMost(DEADLINE).untilAsserted(() -> assertThat(api().clusters().body().path("clusters")
                .findValues("name").stream().map(JsonNode::asText)).contains("m3"));
        await("m3 healthy").atMost(DEADLINE).until(() -> {
            for (JsonNode c : api().clusters().body().path("clusters")) {
                if (c.path("name").asText().equals("m3")) {
                    return c.path("state").asText().equals("healthy");
                }
            }
            return false;
        });
        String verdictAtCreate = preflightOf("m3").path("result").asText();
        create("cpu", 2, "after-add");
        awaitUpToDate("cpu", 2);
        assertThat(apiNodesByMember("cpu")).as("m3's preflight was %s when they were asked for", verdictAtCreate)
                .doesNotContainKey("m3");
        if (verdictAtCreate.equals("pending")) {
            assertThat(decisions()).anySatisfy(d -> assertThat(d.path("reason").asText())
                    .contains("m3").contains("network preflight pending"));
        }
        awaitPreflight("m3", "failed");
        JsonNode m3 = preflightOf("m3");
        assertThat(m3.path("direction").asText()).isEqualTo("head -> worker");
        assertThat(m3.path("error").asText()).contains("cannot connect to " + PreflightRuntime.UNREACHABLE_POD_IP);
        assertThat(federation.workerPodCounts(null)).containsEntry("m3", 0);
        assertThat(readyz().path("warnings").toString()).contains("member m3 failed network preflight (head -> worker");
        await("m3's probe pods deleted").atMost(DEADLINE).untilAsserted(() ->
                assertThat(federation.member("m3").probePods()).isEmpty());
    }

    private List<JsonNode> decisions() {
        List<JsonNode> out = new java.util.ArrayList<>();
        api().get("/v1/events?pool=cpu", Map.of()).body().path("events").forEach(out::add);
        return out;
    }

    @Test
    @DisplayName("A member whose pods cannot reach the head is named and left out before any worker goes there; it is placed on again once it recovers")
    void excludesAMemberThatCannotReachTheHead() throws Exception {
        startWithM1CutOff();

        // before any worker: m1 failed (worker -> head), m2 passed both directions
        awaitPreflight("m1", "failed");
        awaitPreflight("m2", "ok");
        JsonNode m1 = preflightOf("m1");
        assertThat(m1.path("direction").asText()).isEqualTo("worker -> head");
        assertThat(m1.path("error").asText()).contains("cannot connect to " + PreflightRuntime.UNREACHABLE_HEAD);
        assertThat(federation.workerPodCounts(null)).containsEntry("m1", 0).containsEntry("m2", 0);
        JsonNode ready = readyz();
        assertThat(ready.path("warnings").toString()).contains("member m1 failed network preflight (worker -> head");
        assertThat(ready.path("preflight").path("m2").asText()).startsWith("ok at ");
        assertThat(federation.sidecar().metric("ray_federation_member_preflight", Map.of("member", "m1", "result", "failed")))
                .isEqualTo(1.0);
        assertThat(federation.sidecar().metric("ray_federation_member_preflight", Map.of("member", "m2", "result", "ok")))
                .isEqualTo(1.0);
        assertThat(federation.sidecar().metric("ray_federation_member_preflight_last_run_timestamp_seconds",
                Map.of("member", "m2"))).as("when m2's probe ended").isPositive();

        // the preferred member is skipped: every worker goes to m2, and the decision says why
        create("cpu", 2, "while-m1-fails");
        awaitUpToDate("cpu", 2);
        assertThat(apiNodesByMember("cpu")).containsOnlyKeys("m2");
        assertThat(decisions()).anySatisfy(d -> assertThat(d.path("reason").asText())
                .contains("left out: m1 failed network preflight").contains("worker -> head"));
        // probe pods are never workers, and each is deleted once it has answered
        assertThat(federation.nodes()).allSatisfy(n -> assertThat(n.path("pool").asText()).isEqualTo("cpu"));
        await("probe pods deleted").atMost(DEADLINE).untilAsserted(() -> {
            assertThat(federation.member("m2").probePods()).isEmpty();
        });

        // m1's network is repaired: its retried probe passes and it takes workers again (it is preferred)
        runtime.cutOff("m1", false);
        awaitPreflight("m1", "ok");
        assertThat(readyz().path("warnings")).isEmpty();
        List<String> after = created(create("cpu", 2, "after-recovery"));
        awaitUpToDate("cpu", 4);
        assertThat(federation.nodes().stream().filter(n -> after.contains(n.path("id").asText()))
                .map(n -> n.path("cluster").asText())).containsOnly("m1");
        assertThat(federation.sidecar().logTail(400)).contains("member m1: network preflight failed (worker -> head",
                "member m1: network preflight passed");
    }
}
