package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What every end-to-end test shares: a {@link SimulatedFederation} (members + the sidecar jar as a process) started
 * per test in a temp dir and always closed, the sidecar's log tail printed when a test fails, and small helpers
 * over the HTTP API.
 */
abstract class SidecarE2E {

    /** Generous: the machine is shared and slow; nothing here measures speed. */
    static final Duration DEADLINE = Duration.ofSeconds(90);

    @TempDir
    Path dir;

    SimulatedFederation federation;

    @RegisterExtension
    final TestWatcher printLogOnFailure = new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
            if (federation != null) {
                System.out.println("---- sidecar log tail (" + federation.sidecar().logFile() + ") ----\n"
                        + federation.sidecar().logTail(80));
            }
        }
    };

    @AfterEach
    void stopFederation() {
        if (federation != null) {
            federation.close();
        }
    }

    SimulatedFederation start(List<MemberSpec> specs, UnaryOperator<SidecarConfig> configure) {
        federation = SimulatedFederation.start(specs, dir, configure);
        return federation;
    }

    SidecarApi api() {
        return federation.api();
    }

    /** Members named m1, m2, ... each with {@code nodes} nodes of {@code cpu} cores and 4 GiB per core. */
    static List<MemberSpec> members(int count, int nodes, int cpu) {
        String[] clouds = {"aws", "gcp", "azure", "oci"};
        List<MemberSpec> out = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            out.add(MemberSpec.of("m" + i, clouds[(i - 1) % clouds.length], "region-" + i, "zone-" + i + "a")
                    .withNodes(nodes, "n", n -> NodeSpec.of(n, cpu, (cpu * 4) + "Gi")));
        }
        return out;
    }

    /** The tags Ray's autoscaler sends with a create call for a worker of {@code nodeType}. */
    static Map<String, String> rayTags(String nodeType) {
        return SidecarApi.rayTags(nodeType);
    }

    /** POST /v1/nodes expecting 201; returns the response. */
    SidecarApi.Response create(String nodeType, int count, String requestId) {
        SidecarApi.Response r = api().createNodes(nodeType, count, requestId, rayTags(nodeType));
        assertThat(r.status()).as("status of %s", r).isEqualTo(201);
        return r;
    }

    static List<String> created(SidecarApi.Response r) {
        return SidecarApi.created(r);
    }

    /** API nodes of one pool. */
    List<JsonNode> nodesOf(String pool) {
        return federation.nodes().stream().filter(n -> pool.equals(n.path("pool").asText())).toList();
    }

    /** Waits until the API shows exactly {@code count} nodes of the pool, all up-to-date. */
    void awaitUpToDate(String pool, int count) {
        await("%d %s workers up-to-date".formatted(count, pool)).atMost(DEADLINE).untilAsserted(() ->
                assertThat(nodesOf(pool)).as("nodes of pool %s", pool).hasSize(count)
                        .allSatisfy(n -> assertThat(n.path("status").asText()).as("status of %s", n).isEqualTo("up-to-date")));
    }

    /** API nodes of one pool counted by member, sorted by member name. */
    Map<String, Integer> apiNodesByMember(String pool) {
        Map<String, Integer> out = new TreeMap<>();
        nodesOf(pool).forEach(n -> out.merge(n.path("cluster").asText(), 1, Integer::sum));
        return out;
    }
}
