package dev.rayfederation.real;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sim.SidecarConfig.Pool;
import dev.rayfederation.sim.SidecarConfig.VirtualCluster;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Why each worker is where it is, on real members: GET /v1/events lists the decisions, and the worker pods carry
 * Kubernetes Events a real API server stored (what {@code kubectl describe pod} shows), posted with the member
 * chart's RBAC.
 */
class DecisionsRealTest extends RealFederationTest {

    @Test
    @DisplayName("a placement, a rejection and a re-placement are in GET /v1/events; the pods carry Placed and Replaced Events")
    void decisionsAndKubernetesEvents() throws Exception {
        startSidecar(c -> quickReplacement(awsFirst(c))
                .withVirtualCluster(VirtualCluster.of("vc"))
                .withPool(Pool.of("cpu", "vc", Map.of("CPU", 2, "memory", "4Gi")).withStrategy("priority"))
                .withPool(Pool.of("huge", "vc", Map.of("CPU", 64, "memory", "4Gi")))
                // the real scheduler finds no node for it on aws-use1: it is re-placed
                .withPool(Pool.of("picky", "vc", Map.of("CPU", 2, "memory", "4Gi")).withStrategy("priority")
                        .withOverride(AWS, unsatisfiableAffinity())));

        List<String> placed = created(create("cpu", 2, "placed"));
        awaitUpToDate("cpu", 2);
        assertThat(created(create("huge", 1, "too-big"))).isEmpty();
        String moved = created(create("picky", 1, "picky")).get(0);
        await("%s up-to-date on gcp-usc1".formatted(moved)).atMost(DEADLINE).untilAsserted(() ->
                assertThat(nodesOf("picky")).singleElement().satisfies(n -> {
                    assertThat(n.path("cluster").asText()).isEqualTo(GCP);
                    assertThat(n.path("status").asText()).isEqualTo("up-to-date");
                }));

        List<JsonNode> events = new ArrayList<>();
        api().get("/v1/events", Map.of()).body().path("events").forEach(events::add);
        assertThat(events).extracting(e -> e.path("kind").asText() + " " + e.path("pool").asText())
                .containsExactly("replaced picky", "placed picky", "rejected huge", "placed cpu");
        assertThat(events.get(0).path("from").asText()).isEqualTo(AWS);
        assertThat(events.get(0).path("to").asText()).isEqualTo(GCP);
        assertThat(events.get(0).path("reason").asText()).startsWith("re-placed from aws-use1: unschedulable");
        assertThat(events.get(2).path("reason").asText()).startsWith("infeasible: ");
        assertThat(events.get(3).path("nodeIds")).extracting(JsonNode::asText).containsExactlyInAnyOrderElementsOf(placed);

        for (Pod pod : podsOf(member(AWS), "cpu")) {
            await("a Placed Event on %s".formatted(pod.getMetadata().getName())).atMost(DEADLINE).untilAsserted(() ->
                    assertThat(eventsOn(member(AWS), pod)).singleElement().satisfies(e -> {
                        assertThat(e.getReason()).isEqualTo("Placed");
                        assertThat(e.getType()).isEqualTo("Normal");
                        assertThat(e.getMessage()).isEqualTo("ray-federation placed this cpu worker (pool cpu) on member "
                                + "aws-use1: priority: 2 of 2 requested placed (aws-use1 2)");
                    }));
        }
        Pod replaced = podsOf(member(GCP), "picky").get(0);
        await("a Replaced Event on %s".formatted(replaced.getMetadata().getName())).atMost(DEADLINE).untilAsserted(() ->
                assertThat(eventsOn(member(GCP), replaced)).singleElement().satisfies(e -> {
                    assertThat(e.getReason()).isEqualTo("Replaced");
                    assertThat(e.getType()).isEqualTo("Normal");
                    assertThat(e.getMessage()).startsWith("ray-federation re-placed from aws-use1: unschedulable")
                            .endsWith("(pool picky)");
                }));
        for (String m : List.of(AWS, GCP)) {
            assertThat(metric("ray_federation_kubernetes_events_total", Map.of("member", m, "outcome", "failed")))
                    .as("events refused by %s (the member chart grants events: create)", m).isZero();
        }
        assertThat(metric("ray_federation_kubernetes_events_total", Map.of("member", AWS, "outcome", "posted")))
                .isGreaterThanOrEqualTo(2);
    }

    /**
     * The sidecar's Events stored on {@code pod}, selected by its uid as {@code kubectl describe pod} does (the
     * scheduler's and kubelet's own are left out).
     */
    private static List<Event> eventsOn(RealMember m, Pod pod) {
        return m.admin().v1().events().inNamespace(m.namespace())
                .withField("involvedObject.uid", pod.getMetadata().getUid()).list().getItems().stream()
                .filter(e -> e.getSource() != null && "ray-federation".equals(e.getSource().getComponent())).toList();
    }
}
