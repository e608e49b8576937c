package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sim.PrometheusTextFormat.MalformedExposition;
import dev.rayfederation.sim.PrometheusTextFormat.Sample;
import dev.rayfederation.sim.PrometheusTextFormat.Scrape;
import dev.rayfederation.sim.SidecarConfig.Pool;
import dev.rayfederation.sim.SidecarConfig.VirtualCluster;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * /metrics after a scripted scale-up, parsed with a strict parser of the text format 0.0.4: the values (not only the
 * names) agree with what the API and the members show, and no label carries a node id. Before any event every
 * counter is already there at zero; the chart's Grafana dashboard and Prometheus alerts use only names the sidecar
 * really exports (the names scraped are written to {@code target/scraped-metric-names.txt}).
 */
class MetricsE2ETest extends SidecarE2E {

    private static final double GI = 1024.0 * 1024 * 1024;
    private static final String CPU_POOL = "cpu";
    private static final String HUGE_POOL = "huge";

    /**
     * Every /v1 call made so far, by "route method code": what the latency histogram must have counted. Starts with
     * what the harness itself called while starting the sidecar; then this test counts each of its own calls.
     */
    private final Map<String, Integer> calls = new TreeMap<>();
    private SidecarApi api;

    @Test
    @DisplayName("after creates, a quota rejection, an infeasible request and a terminate, /metrics agrees with the API and the members")
    void metricsAgreeWithTheApiAndTheMembersAfterAScriptedScaleUp() throws Exception {
        // 2 members x 2 nodes x 8 CPU; vc-batch may use 12 CPU = 6 workers of 2 CPU; a 64-CPU worker fits nowhere
        start(members(2, 2, 8), c -> c
                .withVirtualCluster(VirtualCluster.of("vc-batch").withQuota("CPU", 12))
                .withVirtualCluster(VirtualCluster.of("vc-big"))
                .withPool(Pool.of(CPU_POOL, "vc-batch", Map.of("CPU", 2, "memory", "4Gi")).withStrategy("spread"))
                .withPool(Pool.of(HUGE_POOL, "vc-big", Map.of("CPU", 64, "memory", "8Gi"))));
        api = new SidecarApi(federation.sidecar().apiUrl(), null);
        calls.putAll(httpCounts(scrape()));

        List<String> ids = new ArrayList<>();
        SidecarApi.Response first = call("/v1/nodes", () -> api.createNodes(CPU_POOL, 4, "scale-1", rayTags(CPU_POOL)));
        assertThat(first.status()).as("%s", first).isEqualTo(201);
        ids.addAll(created(first));
        SidecarApi.Response second = call("/v1/nodes", () -> api.createNodes(CPU_POOL, 4, "scale-2", rayTags(CPU_POOL)));
        assertThat(second.status()).as("%s", second).isEqualTo(201);
        assertThat(second.body().path("rejected").path("reason").asText()).as("%s", second).isEqualTo("quota");
        assertThat(second.body().path("rejected").path("count").asInt()).as("%s", second).isEqualTo(2);
        ids.addAll(created(second));
        SidecarApi.Response huge = call("/v1/nodes", () -> api.createNodes(HUGE_POOL, 1, "too-big", rayTags(HUGE_POOL)));
        assertThat(huge.status()).as("%s", huge).isEqualTo(201);
        assertThat(huge.body().path("rejected").path("reason").asText()).as("%s", huge).isEqualTo("infeasible");
        assertThat(ids).hasSize(6);

        List<JsonNode> nodes = awaitNodes(6);
        Map<String, Integer> podsAfterScaleUp = federation.workerPodCounts(CPU_POOL);
        assertThat(podsAfterScaleUp.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(6);
        String etag = call("/v1/nodes", api::getNodes).etag();
        assertThat(call("/v1/nodes", () -> api.getNodes(etag)).status()).isEqualTo(304);

        JsonNode pools = call("/v1/pools", api::pools).body();
        Scrape afterScaleUp = scrapeOnceSettled(podsAfterScaleUp);
        assertThat(afterScaleUp.sumBy("ray_federation_placements_total", "member", Map.of("pool", CPU_POOL)))
                .as("placements per member = pods in each member")
                .isEqualTo(asDoubles(podsAfterScaleUp));
        assertNodesGaugeMatchesTheSnapshot(afterScaleUp, nodes);
        assertVirtualClusterUsage(afterScaleUp, pools, 6);

        // terminate two workers (wherever they run) and one id nobody knows
        List<String> doomed = ids.subList(0, 2);
        Map<String, Integer> terminatedByMember = new TreeMap<>();
        nodes.stream().filter(n -> doomed.contains(n.path("id").asText()))
                .forEach(n -> terminatedByMember.merge(n.path("cluster").asText(), 1, Integer::sum));
        List<String> terminate = new ArrayList<>(doomed);
        terminate.add("no-such-node");
        SidecarApi.Response answer = call("/v1/nodes:terminate", () -> api.terminate(terminate));
        assertThat(answer.status()).as("%s", answer).isEqualTo(200);
        assertThat(answer.body().path("unknown").toString()).isEqualTo("[\"no-such-node\"]");

        List<JsonNode> remaining = awaitNodes(4);
        await("the members delete the two terminated pods").atMost(DEADLINE).untilAsserted(() ->
                assertThat(federation.workerPodCounts(CPU_POOL).values().stream().mapToInt(Integer::intValue).sum())
                        .isEqualTo(4));
        Map<String, Integer> podsNow = federation.workerPodCounts(CPU_POOL);
        pools = call("/v1/pools", api::pools).body();
        JsonNode clusters = call("/v1/clusters", api::clusters).body();
        Scrape end = scrapeOnceSettled(podsNow);

        assertThat(end.sumBy("ray_federation_placements_total", "member", Map.of("pool", CPU_POOL)))
                .as("a counter: placements do not drop when workers leave")
                .isEqualTo(asDoubles(podsAfterScaleUp));
        Map<String, Integer> podsPlusTerminated = new TreeMap<>(podsNow);
        terminatedByMember.forEach((m, k) -> podsPlusTerminated.merge(m, k, Integer::sum));
        assertThat(asDoubles(podsPlusTerminated)).as("pods now + terminated = placed").isEqualTo(asDoubles(podsAfterScaleUp));
        assertThat(end.value("ray_federation_rejected_workers_total", Map.of("pool", CPU_POOL, "reason", "quota"))).isEqualTo(2);
        assertThat(end.value("ray_federation_rejected_workers_total", Map.of("pool", HUGE_POOL, "reason", "infeasible"))).isEqualTo(1);
        assertThat(end.sum("ray_federation_rejected_workers_total", Map.of())).as("no other rejection").isEqualTo(3);
        assertThat(end.value("ray_federation_create_requests_total", Map.of("pool", CPU_POOL, "outcome", "created"))).isEqualTo(1);
        assertThat(end.value("ray_federation_create_requests_total", Map.of("pool", CPU_POOL, "outcome", "partial"))).isEqualTo(1);
        assertThat(end.value("ray_federation_create_requests_total", Map.of("pool", HUGE_POOL, "outcome", "rejected"))).isEqualTo(1);
        assertThat(end.value("ray_federation_terminations_total", Map.of("outcome", "terminating"))).isEqualTo(2);
        assertThat(end.value("ray_federation_terminations_total", Map.of("outcome", "unknown"))).isEqualTo(1);
        // every pod create sent to a member API server is timed: one per placed worker (no retries needed here)
        assertThat(end.sumBy("ray_federation_member_api_call_duration_seconds_count", "member",
                Map.of("operation", "create_pod"))).as("timed pod creates per member").isEqualTo(asDoubles(podsAfterScaleUp));
        assertThat(end.sumBy("ray_federation_member_api_call_duration_seconds_count", "member",
                Map.of("operation", "delete_pod"))).as("timed pod deletes per member").isEqualTo(asDoubles(terminatedByMember));
        assertThat(end.sum("ray_federation_worker_losses_total", Map.of()))
                .as("workers Ray terminated are not losses").isZero();
        assertNodesGaugeMatchesTheSnapshot(end, remaining);
        assertVirtualClusterUsage(end, pools, 4);
        assertMemberStates(end, clusters);
        assertHttpHistogramCountsEveryCall(end);
        assertNoLabelCarriesAnId(end, ids, List.of("scale-1", "scale-2", "too-big"));

        // a worker deleted behind Ray's back: a loss, and its member backs off for that pool
        JsonNode victim = remaining.get(0);
        String victimMember = victim.path("cluster").asText();
        Pod pod = federation.workerPods(CPU_POOL).get(victimMember).get(0);
        federation.member(victimMember).client().pods().inNamespace(pod.getMetadata().getNamespace())
                .withName(pod.getMetadata().getName()).delete();
        List<Scrape> afterLoss = new ArrayList<>();
        await("the deleted worker counted as a loss, and " + victimMember + " backing off pool " + CPU_POOL)
                .atMost(DEADLINE).untilAsserted(() -> {
                    Scrape s = scrape();
                    afterLoss.add(s);
                    assertThat(s.value("ray_federation_worker_losses_total", Map.of("member", victimMember, "reason", "deleted")))
                            .isEqualTo(1);
                    assertThat(s.value("ray_federation_backoff_active", Map.of("member", victimMember, "pool", CPU_POOL)))
                            .isEqualTo(1);
                    assertThat(s.value("ray_federation_backoff_seconds", Map.of("member", victimMember, "pool", CPU_POOL)))
                            .isPositive();
                });
        Scrape last = afterLoss.get(afterLoss.size() - 1);
        assertThat(last.sum("ray_federation_worker_losses_total", Map.of())).as("one loss in all").isEqualTo(1);

        Set<String> exported = exportedNames(List.of(afterScaleUp, end, last));
        // the harness runs without the network preflight, whose series exist only while it is on: PreflightE2ETest
        // shows the sidecar exporting them
        exported.addAll(EXPORTED_ONLY_WITH_PREFLIGHT);
        Files.writeString(Files.createDirectories(Path.of("target")).resolve("scraped-metric-names.txt"),
                String.join("\n", exported) + "\n");
        assertChartUsesOnlyExportedNames(exported);
    }

    @Test
    @DisplayName("before anything happened, every counter is there at zero for the configured pools and members, with the build and JVM metrics")
    void countersAreThereAtZeroBeforeTheFirstEvent() throws Exception {
        start(members(2, 1, 8), c -> c
                .withVirtualCluster(VirtualCluster.of("vc-a").withQuota("CPU", 4))
                .withPool(Pool.of("only-m2", "vc-a", Map.of("CPU", 2, "memory", "4Gi")).withClusters("m2"))
                .withPool(Pool.of("anywhere", "vc-a", Map.of("CPU", 1, "memory", "1Gi"))));

        Scrape s = scrape();

        for (String pool : List.of("only-m2", "anywhere")) {
            for (String reason : List.of("quota", "infeasible", "unavailable")) {
                assertThat(s.value("ray_federation_rejected_workers_total", Map.of("pool", pool, "reason", reason)))
                        .as("rejections of %s for %s", pool, reason).isZero();
            }
            for (String outcome : List.of("created", "partial", "rejected", "replay", "conflict", "failed")) {
                assertThat(s.value("ray_federation_create_requests_total", Map.of("pool", pool, "outcome", outcome)))
                        .as("create requests of %s with outcome %s", pool, outcome).isZero();
            }
        }
        assertThat(s.sumBy("ray_federation_placements_total", "member", Map.of("pool", "only-m2")))
                .as("placements of a pool allowed on m2 only").isEqualTo(Map.of("m2", 0.0));
        assertThat(s.sumBy("ray_federation_placements_total", "member", Map.of("pool", "anywhere")))
                .isEqualTo(Map.of("m1", 0.0, "m2", 0.0));
        assertThat(s.sumBy("ray_federation_replacements_total", "member", Map.of("pool", "anywhere")))
                .isEqualTo(Map.of("m1", 0.0, "m2", 0.0));
        for (String member : List.of("m1", "m2")) {
            for (String reason : List.of("deleted", "evicted", "failed", "gone")) {
                assertThat(s.value("ray_federation_worker_losses_total", Map.of("member", member, "reason", reason)))
                        .as("losses on %s for %s", member, reason).isZero();
            }
            assertThat(s.value("ray_federation_member_api_errors_total",
                    Map.of("member", member, "operation", "create_pod", "kind", "failure"))).isZero();
            for (String scope : List.of("member:" + member)) {
                for (String state : List.of("closed", "open", "half_open")) {
                    assertThat(s.value("ray_federation_breaker_transitions_total", Map.of("breaker", scope, "to", state)))
                            .as("transitions of %s to %s", scope, state).isZero();
                }
            }
        }
        assertThat(s.value("ray_federation_breaker_transitions_total", Map.of("breaker", "cloud:aws", "to", "open")))
                .isZero();
        assertThat(s.value("ray_federation_terminations_total", Map.of("outcome", "unknown"))).isZero();

        String version;
        try (JarFile jar = new JarFile(RepoRoot.sidecarJar().toFile())) {
            version = jar.getManifest().getMainAttributes().getValue("Implementation-Version");
        }
        assertThat(version).as("Implementation-Version in the sidecar jar's manifest").isNotBlank();
        assertThat(s.samples("ray_federation_build_info")).as("build info")
                .singleElement().satisfies(b -> {
                    assertThat(b.labels()).isEqualTo(Map.of("version", version));
                    assertThat(b.value()).isEqualTo(1);
                });

        assertThat(s.families()).as("the Prometheus client's JVM and process metrics")
                .containsKeys("jvm_memory_used_bytes", "jvm_threads_current", "jvm_gc_collection_seconds",
                        "process_cpu_seconds_total", "process_start_time_seconds", "process_resident_memory_bytes");
        assertThat(s.value("process_open_fds", Map.of())).isPositive();
    }

    // ------------------------------------------------------------------ assertions

    private void assertNodesGaugeMatchesTheSnapshot(Scrape scrape, List<JsonNode> nodes) {
        Map<String, Double> snapshot = new TreeMap<>();
        for (JsonNode n : nodes) {
            String status = n.path("status").asText();
            String statusClass = status.equals("up-to-date") || status.equals("update-failed") ? status : "pending";
            snapshot.merge(n.path("cluster").asText() + "/" + n.path("pool").asText() + "/" + statusClass, 1.0, Double::sum);
        }
        Map<String, Double> gauge = new TreeMap<>();
        scrape.samples("ray_federation_nodes").stream().filter(s -> s.value() != 0).forEach(s -> gauge.put(
                s.labels().get("member") + "/" + s.labels().get("pool") + "/" + s.labels().get("status"), s.value()));
        assertThat(gauge).as("ray_federation_nodes by member/pool/status vs GET /v1/nodes").isEqualTo(snapshot);
        assertThat(scrape.value("ray_federation_snapshot_nodes", Map.of())).isEqualTo(nodes.size());
    }

    private static void assertVirtualClusterUsage(Scrape scrape, JsonNode pools, int workers) {
        JsonNode vc = null;
        for (JsonNode v : pools.path("virtualClusters")) {
            if (v.path("name").asText().equals("vc-batch")) {
                vc = v;
            }
        }
        assertThat(vc).as("vc-batch in GET /v1/pools").isNotNull();
        Map<String, String> cpu = Map.of("virtual_cluster", "vc-batch", "resource", "CPU");
        Map<String, String> memory = Map.of("virtual_cluster", "vc-batch", "resource", "memory");
        assertThat(scrape.value("ray_federation_virtual_cluster_used", cpu)).isEqualTo(2.0 * workers)
                .isEqualTo(quantity(vc.path("used").path("CPU")));
        assertThat(scrape.value("ray_federation_virtual_cluster_used", memory)).isEqualTo(4 * GI * workers)
                .isEqualTo(quantity(vc.path("used").path("memory")));
        assertThat(scrape.value("ray_federation_virtual_cluster_quota", cpu)).isEqualTo(12);
        assertThat(scrape.sum("ray_federation_virtual_cluster_used", Map.of("virtual_cluster", "vc-big")))
                .as("the infeasible worker uses nothing").isZero();
    }

    private static void assertMemberResources(Scrape scrape, Map<String, Integer> podsByMember) {
        for (Map.Entry<String, Integer> e : podsByMember.entrySet()) {
            String m = e.getKey();
            assertThat(scrape.value("ray_federation_member_capacity", Map.of("member", m, "resource", "CPU")))
                    .as("CPU of %s's 2 nodes", m).isEqualTo(16);
            assertThat(scrape.value("ray_federation_member_capacity", Map.of("member", m, "resource", "memory")))
                    .as("memory of %s's 2 nodes", m).isEqualTo(64 * GI);
            assertThat(scrape.sum("ray_federation_member_allocated", Map.of("member", m, "resource", "CPU")))
                    .as("requests of the %d worker pods on %s", e.getValue(), m).isEqualTo(2.0 * e.getValue());
        }
    }

    private static void assertMemberStates(Scrape scrape, JsonNode clusters) {
        Map<String, String> apiStates = new TreeMap<>();
        clusters.path("clusters").forEach(c -> apiStates.put(c.path("name").asText(), c.path("state").asText()));
        assertThat(apiStates).isEqualTo(Map.of("m1", "healthy", "m2", "healthy"));
        for (String member : apiStates.keySet()) {
            List<Sample> states = scrape.samples("ray_federation_member_state").stream()
                    .filter(s -> member.equals(s.labels().get("member"))).toList();
            assertThat(states).as("one gauge per state of %s", member).hasSizeGreaterThanOrEqualTo(4);
            assertThat(states.stream().filter(s -> s.value() == 1).map(s -> s.labels().get("state")).toList())
                    .as("the one state of %s set to 1", member).containsExactly(apiStates.get(member));
            assertThat(states.stream().mapToDouble(Sample::value).sum()).isEqualTo(1);
        }
        assertThat(scrape.value("ray_federation_member_state", Map.of("member", "m1", "cloud", "aws", "state", "healthy")))
                .isEqualTo(1);
    }

    private void assertHttpHistogramCountsEveryCall(Scrape scrape) {
        assertThat(scrape.families().get("ray_federation_http_request_duration_seconds").type()).isEqualTo("histogram");
        assertThat(httpCounts(scrape)).as("request counts by route, method and code").isEqualTo(calls);
        for (Sample s : scrape.samples("ray_federation_http_request_duration_seconds_sum")) {
            assertThat(s.value()).as("latency sum of %s", s.labels()).isPositive();
        }
    }

    private static Map<String, Integer> httpCounts(Scrape scrape) {
        Map<String, Integer> counted = new TreeMap<>();
        for (Sample s : scrape.samples("ray_federation_http_request_duration_seconds_count")) {
            counted.put(s.labels().get("route") + " " + s.labels().get("method") + " " + s.labels().get("code"),
                    (int) s.value());
        }
        return counted;
    }

    private static void assertNoLabelCarriesAnId(Scrape scrape, List<String> nodeIds, List<String> requestIds) {
        Set<String> values = new HashSet<>();
        scrape.samples().forEach(s -> values.addAll(s.labels().values()));
        assertThat(values).as("label values").isNotEmpty();
        for (String value : values) {
            for (String id : nodeIds) {
                assertThat(value).as("a label value containing node id %s", id).doesNotContain(id);
            }
            assertThat(requestIds).as("label values that are request ids").doesNotContain(value);
        }
    }

    /** Sample and family names in these scrapes. */
    private static Set<String> exportedNames(List<Scrape> scrapes) {
        Set<String> names = new TreeSet<>();
        for (Scrape s : scrapes) {
            names.addAll(s.families().keySet());
            s.samples().forEach(sample -> names.add(sample.name()));
        }
        return names;
    }

    /** Series the sidecar exports only while the network preflight is on (checked in PreflightE2ETest). */
    static final Set<String> EXPORTED_ONLY_WITH_PREFLIGHT = Set.of("ray_federation_member_preflight",
            "ray_federation_member_preflight_last_run_timestamp_seconds");

    private static final Pattern METRIC_NAME = Pattern.compile("\\b((?:ray_federation|jvm|process)_[a-z0-9_]*[a-z0-9])\\b");

    /** Every metric name the chart's Grafana dashboard and Prometheus rules use is one the sidecar exports. */
    private static void assertChartUsesOnlyExportedNames(Set<String> exported) throws IOException {
        Path chart = RepoRoot.find().resolve("charts/ray-federation");
        for (Path file : List.of(chart.resolve("dashboards/ray-federation.json"), chart.resolve("rules/ray-federation.rules.yaml"))) {
            Set<String> used = new TreeSet<>();
            Matcher m = METRIC_NAME.matcher(Files.readString(file));
            while (m.find()) {
                used.add(m.group(1));
            }
            assertThat(used).as("metric names used by %s", file).isNotEmpty();
            assertThat(exported).as("names the sidecar exports vs the names %s uses", file.getFileName())
                    .containsAll(used);
        }
    }

    // ------------------------------------------------------------------ helpers

    /** Runs one /v1 call and counts it under (route, method, status code). */
    private SidecarApi.Response call(String route, Supplier<SidecarApi.Response> request) {
        SidecarApi.Response r = request.get();
        calls.merge(route + " " + r.method() + " " + r.status(), 1, Integer::sum);
        return r;
    }

    /** Polls GET /v1/nodes (each poll counted) until exactly {@code count} cpu workers are up-to-date. */
    private List<JsonNode> awaitNodes(int count) {
        List<List<JsonNode>> last = new ArrayList<>();
        await(count + " workers up-to-date").atMost(DEADLINE).untilAsserted(() -> {
            SidecarApi.Response r = call("/v1/nodes", api::getNodes);
            List<JsonNode> nodes = new ArrayList<>();
            r.body().path("nodes").forEach(nodes::add);
            assertThat(nodes).as("nodes in %s", r).hasSize(count)
                    .allSatisfy(n -> assertThat(n.path("status").asText()).isEqualTo("up-to-date"));
            last.add(nodes);
        });
        return last.get(last.size() - 1);
    }

    /**
     * Scrapes until the latency histogram has recorded every call made so far (it records as each answer ends) and
     * the members' capacity informers have seen the pods now present; then checks the members' resources.
     */
    private Scrape scrapeOnceSettled(Map<String, Integer> podsByMember) {
        List<Scrape> last = new ArrayList<>();
        await("the latency histogram counts the calls " + calls + " and the members' resources " + podsByMember)
                .atMost(DEADLINE).untilAsserted(() -> {
                    Scrape s = scrape();
                    last.add(s);
                    assertThat(httpCounts(s)).as("request counts by route, method and code").isEqualTo(calls);
                    assertMemberResources(s, podsByMember);
                });
        return last.get(last.size() - 1);
    }

    private Scrape scrape() throws IOException, InterruptedException {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        federation.sidecar().managementUrl().resolve("/metrics")).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
        return PrometheusTextFormat.parse(r.body());
    }

    private static double quantity(JsonNode node) {
        assertThat(node.isMissingNode()).as("quantity present").isFalse();
        return new Quantity(node.asText()).getNumericalAmount().doubleValue();
    }

    private static Map<String, Double> asDoubles(Map<String, Integer> counts) {
        Map<String, Double> out = new TreeMap<>();
        counts.forEach((k, v) -> {
            if (v != 0) {
                out.put(k, v.doubleValue());
            }
        });
        return out;
    }

    /** The parser used above: it must reject what a strict scraper would. */
    @Nested
    class StrictParser {

        private static final String GOOD = """
                # HELP req_total Requests, with "quotes" and a backslash \\\\ and a line\\nbreak
                # TYPE req_total counter
                req_total{route="/v1/nodes",code="200"} 3
                req_total{route="a \\"quoted\\" \\\\ value\\n",code="500",} 1.5e1 1700000000000
                # a plain comment
                # TYPE lat histogram
                lat_bucket{le="0.1"} 1
                lat_bucket{le="1"} 2
                lat_bucket{le="+Inf"} 2
                lat_sum 0.35
                lat_count 2
                # TYPE up gauge
                up NaN
                up_other -Inf
                """;

        @Test
        void readsNamesLabelsEscapesValuesAndHistograms() {
            Scrape s = PrometheusTextFormat.parse(GOOD);

            assertThat(s.families().get("req_total").help()).isEqualTo("Requests, with \"quotes\" and a backslash \\ and a line\nbreak");
            assertThat(s.value("req_total", Map.of("route", "/v1/nodes", "code", "200"))).isEqualTo(3);
            assertThat(s.samples("req_total").get(1).labels().get("route")).isEqualTo("a \"quoted\" \\ value\n");
            assertThat(s.samples("req_total").get(1).timestamp()).isEqualTo(1700000000000L);
            assertThat(s.value("req_total", Map.of("route", "a \"quoted\" \\ value\n", "code", "500"))).isEqualTo(15);
            assertThat(s.families().get("lat").samples()).hasSize(5);
            assertThat(Double.isNaN(s.value("up", Map.of()))).isTrue();
            assertThat(s.value("up_other", Map.of())).isEqualTo(Double.NEGATIVE_INFINITY);
        }

        @ParameterizedTest(name = "{0}")
        @ValueSource(strings = {
                "m{a=\"unterminated} 1\n",
                "m{a=\"bad \\x escape\"} 1\n",
                "m{0a=\"v\"} 1\n",
                "m{__reserved=\"v\"} 1\n",
                "m{a=\"1\",a=\"2\"} 1\n",
                "m{a=\"1\" b=\"2\"} 1\n",
                "m{a=1} 1\n",
                "m-dash 1\n",
                "m 1.2.3\n",
                "m 1d\n",
                "m 0x10\n",
                "m\n",
                "m 1 2 3\n",
                "m 1 12.5\n",
                "m 1\nm 2\n",
                "m 1\n# TYPE m gauge\n",
                "# TYPE m gauge\n# TYPE m gauge\nm 1\n",
                "# HELP m one\n# HELP m two\nm 1\n",
                "# TYPE m bogus\nm 1\n",
                "# TYPE m\nm 1\n",
                "#TYPE m gauge\nm 1\n",
                "# HELP m bad \\q escape\nm 1\n",
                "m{a=\"1\"} 1\nother 1\nm{a=\"2\"} 1\n",
                "# TYPE c_total counter\nc_total -1\n",
                "# TYPE h histogram\nh 1\n",
                "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
                "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
                "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
                "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",
                "# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
                "# TYPE h histogram\nh_bucket{le=\"x\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
                "# TYPE h histogram\nh_bucket 1\nh_sum 1\nh_count 1\n",
                "m 1",
        })
        void rejectsMalformedExpositions(String text) {
            assertThatThrownBy(() -> PrometheusTextFormat.parse(text)).isInstanceOf(MalformedExposition.class);
        }
    }
}
