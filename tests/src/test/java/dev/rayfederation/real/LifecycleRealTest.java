package dev.rayfederation.real;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sim.SidecarConfig.Pool;
import dev.rayfederation.sim.SidecarConfig.VirtualCluster;
import io.fabric8.kubernetes.api.model.Pod;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** A worker's life on real members: restarts, terminations, re-placement, pods lost behind Ray's back, RBAC. */
class LifecycleRealTest extends RealFederationTest {

    @Test
    @DisplayName("a restarted sidecar rebuilds the same node list from the members")
    void restartRebuildsTheSameNodeList() {
        startSidecar(c -> c
                .withVirtualCluster(VirtualCluster.of("vc"))
                .withPool(Pool.of("cpu", "vc", Map.of("CPU", 2, "memory", "4Gi"))));
        create("cpu", 5, "before-restart");
        awaitUpToDate("cpu", 5);
        Map<String, String> before = summary();

        sidecar.restart();
        awaitAllHealthy();

        awaitUpToDate("cpu", 5);
        assertThat(summary()).as("id -> member, status, IP after the restart").isEqualTo(before);
    }

    @Test
    @DisplayName("terminate deletes the worker's pod on its member and the node leaves GET /v1/nodes")
    void terminateDeletesThePod() {
        startSidecar(c -> c
                .withVirtualCluster(VirtualCluster.of("vc"))
                .withPool(Pool.of("cpu", "vc", Map.of("CPU", 2, "memory", "4Gi"))));
        List<String> ids = created(create("cpu", 2, "two"));
        awaitUpToDate("cpu", 2);
        String victim = ids.get(0);

        assertThat(api().terminate(List.of(victim)).status()).isEqualTo(200);

        await("the pod of %s deleted, %s left in GET /v1/nodes".formatted(victim, ids.get(1))).atMost(DEADLINE)
                .untilAsserted(() -> {
                    assertThat(allWorkerPods().stream().map(p -> p.getMetadata().getLabels().get(NODE_ID_LABEL)))
                            .containsExactly(ids.get(1));
                    assertThat(nodesOf("cpu")).extracting(n -> n.path("id").asText()).containsExactly(ids.get(1));
                });
    }

    @Test
    @DisplayName("a worker the real scheduler cannot place moves to another member under the same node id")
    void unschedulableWorkerIsReplacedElsewhere() {
        // The sidecar does not model node affinity; the real scheduler does and finds no node on aws-use1.
        startSidecar(c -> quickReplacement(awsFirst(c))
                .withVirtualCluster(VirtualCluster.of("vc"))
                .withPool(Pool.of("picky", "vc", Map.of("CPU", 2, "memory", "4Gi")).withStrategy("priority")
                        .withOverride(AWS, unsatisfiableAffinity())));

        String id = created(create("picky", 1, "picky-1")).get(0);

        await("%s up-to-date on gcp-usc1".formatted(id)).atMost(DEADLINE).untilAsserted(() ->
                assertThat(nodesOf("picky")).singleElement().satisfies(n -> {
                    assertThat(n.path("id").asText()).isEqualTo(id);
                    assertThat(n.path("cluster").asText()).isEqualTo(GCP);
                    assertThat(n.path("status").asText()).isEqualTo("up-to-date");
                }));
        assertThat(podCounts("picky")).isEqualTo(Map.of(AWS, 0, GCP, 1, AZURE, 0));
        assertThat(podsOf(member(GCP), "picky").get(0).getMetadata().getLabels().get(NODE_ID_LABEL)).isEqualTo(id);
        assertThat(backoff(AWS, "picky")).as("back-off of (aws-use1, picky) in GET /v1/clusters").isNotNull();
    }

    @Test
    @DisplayName("a worker pod deleted behind Ray's back disappears from GET /v1/nodes")
    void podDeletedBehindRaysBackDisappears() {
        startSidecar(c -> c
                .withVirtualCluster(VirtualCluster.of("vc"))
                .withPool(Pool.of("cpu", "vc", Map.of("CPU", 2, "memory", "4Gi"))));
        List<String> ids = created(create("cpu", 2, "two"));
        awaitUpToDate("cpu", 2);
        String victim = ids.get(0);
        Pod pod = allWorkerPods().stream()
                .filter(p -> victim.equals(p.getMetadata().getLabels().get(NODE_ID_LABEL))).findFirst().orElseThrow();
        RealMember owner = members().members().stream()
                .filter(m -> m.workerPods().stream().anyMatch(p -> p.getMetadata().getUid().equals(pod.getMetadata().getUid())))
                .findFirst().orElseThrow();

        owner.admin().pods().inNamespace(owner.namespace()).withName(pod.getMetadata().getName()).delete();

        await("%s gone from GET /v1/nodes".formatted(victim)).atMost(DEADLINE).untilAsserted(() ->
                assertThat(nodesOf("cpu")).extracting(n -> n.path("id").asText()).containsExactly(ids.get(1)));
    }

    @Test
    @DisplayName("the sidecar's ServiceAccount never gets a 403 in the normal flow (audit log of every member)")
    void noForbiddenCallInTheNormalFlow() {
        Map<String, Integer> earlier = new TreeMap<>(); // the members serve the whole tier: skip earlier tests' calls
        members().members().forEach(m -> earlier.put(m.name(), m.auditEvents().size()));
        startSidecar(c -> c
                .withVirtualCluster(VirtualCluster.of("vc"))
                .withPool(Pool.of("cpu", "vc", Map.of("CPU", 2, "memory", "4Gi"))));
        List<String> ids = created(create("cpu", 6, "six"));
        awaitUpToDate("cpu", 6);
        api().setTags(ids.get(0), Map.of("ray-node-status", "up-to-date"));
        api().terminate(ids.subList(0, 3));
        await("3 workers left").atMost(DEADLINE).untilAsserted(() -> assertThat(nodesOf("cpu")).hasSize(3));
        sidecar.restart();
        awaitUpToDate("cpu", 3);

        Map<String, Integer> created = new TreeMap<>();
        for (RealMember m : members().members()) {
            List<JsonNode> all = m.auditEvents();
            List<JsonNode> events = all.subList(earlier.get(m.name()), all.size());
            assertThat(events).as("audit events of %s on %s", m.sidecarUser(), m.name()).isNotEmpty();
            for (JsonNode e : events) {
                assertThat(e.path("user").path("username").asText()).isEqualTo(m.sidecarUser());
                assertThat(e.path("responseStatus").path("code").asInt())
                        .as("%s %s on %s: %s", e.path("verb").asText(), e.path("requestURI").asText(), m.name(),
                                e.path("responseStatus"))
                        .isNotIn(401, 403);
                if ("create".equals(e.path("verb").asText()) && e.path("responseStatus").path("code").asInt() == 201) {
                    // pods, and the Events that say why each was placed
                    created.merge(m.name() + " " + e.path("objectRef").path("resource").asText(), 1, Integer::sum);
                }
            }
        }
        assertThat(created.entrySet().stream().filter(c -> c.getKey().endsWith(" pods")).mapToInt(Map.Entry::getValue).sum())
                .as("pods created (201) per member: %s", created).isEqualTo(6);
        assertThat(created.keySet()).as("what the sidecar created").allMatch(k -> k.endsWith(" pods") || k.endsWith(" events"));
    }

    private Map<String, String> summary() {
        Map<String, String> out = new TreeMap<>();
        for (JsonNode n : nodesOf("cpu")) {
            out.put(n.path("id").asText(), n.path("cluster").asText() + " " + n.path("status").asText() + " "
                    + n.path("internalIp").asText());
        }
        return out;
    }

    private static List<Pod> allWorkerPods() {
        return members().members().stream().flatMap(m -> m.workerPods().stream()).toList();
    }
}
