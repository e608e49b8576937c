package dev.rayfederation.sim;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sim.SidecarConfig.Pool;
import dev.rayfederation.sim.SidecarConfig.VirtualCluster;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** A restarted sidecar rebuilds its state from the members: same nodes, tags and statuses, no duplicates. */
class RestartE2ETest extends SidecarE2E {

    private static final TypeReference<Map<String, String>> STRING_MAP = new TypeReference<>() { };

    private Map<String, String> before;
    private List<String> podIdsBefore;
    private SidecarApi.Response firstAnswer;

    @BeforeEach
    void threeWorkersUpToDate() {
        start(members(2, 2, 16), c -> c
                .withVirtualCluster(VirtualCluster.of("vc"))
                .withPool(Pool.of("cpu", "vc", Map.of("CPU", 4, "memory", "8Gi"))));
        firstAnswer = create("cpu", 3, "before-restart");
        awaitUpToDate("cpu", 3);
        before = snapshot();
        podIdsBefore = podIds();
        assertThat(before).hasSize(3);
    }

    @Test
    @DisplayName("after stop and start it reports the same nodes, tags and statuses and creates nothing")
    void survivesAGracefulRestart() {
        federation.sidecar().stop();
        federation.sidecar().start();

        assertSameStateAndNoDuplicates();
    }

    @Test
    @DisplayName("after kill -9 and start it reports the same nodes, tags and statuses and creates nothing")
    void survivesAKill() {
        federation.sidecar().kill();
        federation.sidecar().start();

        assertSameStateAndNoDuplicates();
    }

    @Test
    @DisplayName("tags set with PUT /v1/nodes/{id}/tags are on the pod and survive a restart")
    void keepsTagsSetAfterCreation() {
        String id = created(firstAnswer).get(0);
        SidecarApi.Response tagged = api().setTags(id, Map.of("user-tag", "kept"));
        assertThat(tagged.status()).as("status of %s", tagged).isEqualTo(200);
        assertThat(tagged.body().path("tags").path("user-tag").asText()).as("tags in %s", tagged).isEqualTo("kept");
        await("tags of " + id + " persisted on its pod (annotation ray-federation.io/tags)").atMost(DEADLINE)
                .until(() -> federation.workerPods("cpu").values().stream().flatMap(List::stream)
                        .filter(p -> id.equals(p.getMetadata().getLabels().get(SimulatedFederation.NODE_ID_LABEL)))
                        .anyMatch(p -> p.getMetadata().getAnnotations().getOrDefault("ray-federation.io/tags", "")
                                .contains("\"user-tag\"")));
        before = snapshot();

        federation.sidecar().restart();

        assertThat(snapshot()).as("GET /v1/nodes right after the restart").isEqualTo(before);
        assertThat(before.get(id)).contains("user-tag=kept");
    }

    private void assertSameStateAndNoDuplicates() {
        // the first answer after /readyz is 200 must already be complete: Ray would take a missing node as gone
        assertThat(snapshot()).as("GET /v1/nodes right after the restart").isEqualTo(before);
        assertThat(podIds()).as("pods in the members").containsExactlyInAnyOrderElementsOf(podIdsBefore);

        SidecarApi.Response replay = api().createNodes("cpu", 3, "before-restart", rayTags("cpu"));
        assertThat(replay.status()).as("replayed request after restart: %s", replay).isEqualTo(200);
        assertThat(created(replay)).as("ids in the replayed answer").containsExactlyInAnyOrderElementsOf(created(firstAnswer));
        assertThat(podIds()).as("pods after the replay").containsExactlyInAnyOrderElementsOf(podIdsBefore);
        assertThat(snapshot()).isEqualTo(before);
    }

    /** id → the node as the API shows it, without fields that may legitimately change (revision lives outside). */
    private Map<String, String> snapshot() {
        Map<String, String> out = new TreeMap<>();
        for (JsonNode n : federation.nodes()) {
            out.put(n.path("id").asText(), "status=" + n.path("status").asText() + " cluster=" + n.path("cluster").asText()
                    + " pool=" + n.path("pool").asText() + " nodeType=" + n.path("nodeType").asText()
                    + " internalIp=" + n.path("internalIp").asText() + " stale=" + n.path("stale").asText()
                    + " tags=" + new TreeMap<>(SidecarApi.JSON.convertValue(n.path("tags"), STRING_MAP)));
        }
        return out;
    }

    private List<String> podIds() {
        return federation.workerPods(null).values().stream().flatMap(List::stream)
                .map(p -> p.getMetadata().getLabels().get(SimulatedFederation.NODE_ID_LABEL)).sorted().toList();
    }
}
