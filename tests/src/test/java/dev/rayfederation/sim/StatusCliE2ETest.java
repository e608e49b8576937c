package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rayfederation.sim.SidecarConfig.Pool;
import dev.rayfederation.sim.SidecarConfig.VirtualCluster;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code ray-federation status} (the plugin package's CLI, node-provider/ray_federation/status.py) against a real
 * sidecar: it reads the real GET /v1/clusters, /v1/pools and /v1/events and prints what they say.
 */
class StatusCliE2ETest extends SidecarE2E {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    @DisplayName("ray-federation status shows the real sidecar's members, pools and quota use")
    void statusShowsTheRealSidecar() throws Exception {
        start(members(2, 1, 8), c -> c
                .withVirtualCluster(VirtualCluster.of("vc-batch").withQuota("CPU", 8))
                .withPool(Pool.of("cpu", "vc-batch", Map.of("CPU", 2, "memory", "4Gi")).withStrategy("spread")));
        create("cpu", 2, "status-1");
        awaitUpToDate("cpu", 2);

        JsonNode status = JSON.readTree(status("--json"));
        List<String> members = new ArrayList<>();
        for (JsonNode m : status.path("clusters")) {
            members.add(m.path("name").asText());
            assertThat(m.path("state").asText()).as("state of %s", m).isEqualTo("healthy");
            assertThat(m.path("breaker").asText()).as("breaker of %s", m).isEqualTo("closed");
        }
        assertThat(members).containsExactly("m1", "m2");
        assertThat(status.path("pools").get(0).path("nodes").asInt()).isEqualTo(2);
        assertThat(status.path("virtualClusters").get(0).path("used").path("CPU").asText()).isEqualTo("4");

        String text = status();
        assertThat(row(text, "m1")).as("m1's row in\n%s", text).startsWith("m1 aws healthy closed ");
        assertThat(row(text, "cpu")).as("the pool's row in\n%s", text).startsWith("cpu vc-batch 2 ");
        assertThat(row(text, "vc-batch")).as("the virtual cluster's row in\n%s", text).startsWith("vc-batch 4/8 (50%) ");
        assertThat(text).contains("(nothing: every member healthy, every breaker closed, no back-off)");
    }

    @Test
    @DisplayName("ray-federation status shows the latest decisions, in text and --json, from the API or the management port")
    void statusShowsTheLatestDecisions() throws Exception {
        start(members(2, 1, 8), c -> c
                .withVirtualCluster(VirtualCluster.of("vc-batch").withQuota("CPU", 8))
                .withPool(Pool.of("cpu", "vc-batch", Map.of("CPU", 2, "memory", "4Gi")).withStrategy("priority")));
        create("cpu", 2, "first");
        SidecarApi.Response partial = create("cpu", 4, "beyond-quota");
        assertThat(created(partial)).hasSize(2);

        JsonNode status = JSON.readTree(status("--json", "--decisions", "2"));
        JsonNode events = status.path("events");
        assertThat(events).as("the 2 latest decisions in %s", events).hasSize(2);
        assertThat(events.get(0).path("kind").asText()).isEqualTo("rejected");
        assertThat(events.get(0).path("count").asInt()).isEqualTo(2);
        assertThat(events.get(0).path("reason").asText()).startsWith("quota: ").contains("vc-batch");
        assertThat(events.get(1).path("kind").asText()).isEqualTo("placed");
        assertThat(events.get(1).path("pool").asText()).isEqualTo("cpu");

        String text = status();
        String decisions = text.substring(text.indexOf("Latest decisions (newest first):"), text.indexOf("Attention:"));
        assertThat(row(decisions, "AGE")).isEqualTo("AGE KIND POOL MEMBERS COUNT REASON");
        List<String> rows = Arrays.stream(decisions.split("\n")).skip(2).filter(l -> !l.isBlank())
                .map(l -> l.trim().replaceAll("\\s+", " ")).toList();
        assertThat(rows).as("decisions in\n%s", text).hasSize(3);
        assertThat(rows.get(0)).matches("\\d+s rejected cpu - 2 quota: .*");
        assertThat(rows).filteredOn(r -> r.matches("\\d+s placed cpu m\\d \\d .*")).as("placements in\n%s", text)
                .hasSize(2)
                .allSatisfy(r -> assertThat(r).contains("priority: "));

        String management = statusAt(federation.sidecar().managementUrl().toString(), "--decisions", "1");
        assertThat(management).contains("Sidecar: " + federation.sidecar().managementUrl());
        assertThat(row(management, "m1")).startsWith("m1 aws healthy closed ");
        assertThat(management).containsPattern("(?m)^ *\\d+s +rejected +cpu +- +2 +quota: ");
    }

    /** Runs {@code python3 -m ray_federation.status --url <sidecar API> ARGS} from this checkout; its stdout. */
    private String status(String... args) throws Exception {
        return statusAt(federation.sidecar().apiUrl().toString(), args);
    }

    /** Runs {@code python3 -m ray_federation.status --url URL ARGS} from this checkout; its stdout. */
    private String statusAt(String url, String... args) throws Exception {
        Path root = RepoRoot.find();
        List<String> command = new ArrayList<>(List.of("python3", "-m", "ray_federation.status", "--url", url));
        command.addAll(Arrays.asList(args));
        Path out = dir.resolve("status.out");
        Path err = dir.resolve("status.err");
        ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("PYTHONPATH", root.resolve("node-provider").toString());
        pb.environment().remove("RAY_FEDERATION_SIDECAR_URL");
        pb.environment().remove("RAY_FEDERATION_TOKEN_FILE");
        Process p = pb.start();
        try {
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("ray-federation status ended").isTrue();
            assertThat(p.exitValue()).as("exit status; stderr: %s", Files.readString(err)).isZero();
            return Files.readString(out, StandardCharsets.UTF_8);
        } finally {
            p.destroyForcibly();
        }
    }

    /** The row starting with {@code first}, cells joined by one space. */
    private static String row(String text, String first) {
        for (String line : text.split("\n")) {
            String joined = line.trim().replaceAll("\\s+", " ");
            if (joined.startsWith(first + " ")) {
                return joined;
            }
        }
        return "";
    }
}
