package dev.rayfederation.sidecar.provision;

import dev.rayfederation.k8s.member.InMemoryMemberCluster;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.member.WorkerPod;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.federation.Federation;
import dev.rayfederation.sidecar.placement.strategy.Strategies;
import dev.rayfederation.sidecar.config.FederationConfig.VirtualCluster;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class ReplacementTest {

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final InMemoryMemberCluster aws = InMemoryMemberCluster.builder("aws-use1", "aws", 4,
            ResourceVector.ofQuantities(Map.of("CPU", "16"))).build();
    private final InMemoryMemberCluster gcp = InMemoryMemberCluster.builder("gcp-usc1", "gcp", 4,
            ResourceVector.ofQuantities(Map.of("CPU", "16"))).build();
    private Federation provisioner;
    private NodeRegistry registry;
    private FederationMetrics metrics;

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    private void start() {
        FederationConfig config = TestConfigs.config(
                List.of(TestConfigs.cluster("aws-use1", "aws", 10), TestConfigs.cluster("gcp-usc1", "gcp", 0)),
                List.of(new VirtualCluster("vc", ResourceVector.EMPTY)),
                List.of(TestConfigs.pool("cpu", "vc", Map.of("CPU", "4"), 50, Strategies.PRIORITY, List.of("aws-use1", "gcp-usc1"))));
        Map<String, MemberCluster> members = new LinkedHashMap<>();
        members.put(aws.name(), aws);
        members.put(gcp.name(), gcp);
        config = TestConfigs.withReplacement(config, new FederationConfig.Replacement(Duration.ofMillis(200),
                Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(30), Duration.ofSeconds(30),
                Duration.ofMinutes(10), Duration.ofMillis(50)));
        registry = new NodeRegistry();
        metrics = new FederationMetrics().observe(config, registry, members);
        provisioner = new Federation(config, members, registry, scheduler, metrics, Clock.systemUTC());
        provisioner.start();
    }

    private CreateOutcome create(int count) {
        return provisioner.create(new CreateRequest("cpu", count, UUID.randomUUID().toString(), Map.of(), Map.of(),
                Map.of(), Map.of(), UUID.randomUUID().toString())).toCompletableFuture().join();
    }

    @Test
    @DisplayName("Workers stuck Unschedulable move to the other member under the same ids, and the pair backs off")
    void unschedulableWorkersMove() {
        start();
        aws.stall(true);
        CreateOutcome first = create(3);
        assertThat(first.created()).hasSize(3);
        assertThat(aws.pods()).hasSize(3); // priority: aws first, where they get stuck

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            assertThat(gcp.pods().stream().map(WorkerPod::nodeId).collect(Collectors.toSet()))
                    .containsExactlyInAnyOrderElementsOf(first.created());
            assertThat(aws.pods()).isEmpty();
        });
        List<NodeRecord> nodes = provisioner.snapshot().nodes();
        assertThat(nodes).extracting(NodeRecord::id).containsExactlyInAnyOrderElementsOf(first.created());
        assertThat(nodes).allSatisfy(n -> {
            assertThat(n.member()).isEqualTo("gcp-usc1");
            assertThat(n.status()).isEqualTo("up-to-date");
        });
        assertThat(provisioner.backoffs()).anySatisfy(b -> {
            assertThat(b.member()).isEqualTo("aws-use1");
            assertThat(b.pool()).isEqualTo("cpu");
        });

        // while aws backs off for this pool, new workers avoid it despite its higher priority
        aws.stall(false);
        CreateOutcome second = create(2);
        assertThat(second.created()).hasSize(2);
        assertThat(aws.pods()).isEmpty();
        assertThat(gcp.pods()).hasSize(5);
        Set<String> ids = gcp.pods().stream().map(WorkerPod::nodeId).collect(Collectors.toSet());
        assertThat(ids).hasSize(5); // no id duplicated
    }

    @Test
    @DisplayName("A stuck worker with nowhere to go stays where it is and says why")
    void nowhereToGo() {
        start();
        aws.stall(true);
        gcp.stall(true);
        CreateOutcome out = create(1);
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            NodeRecord n = registry.get(out.created().get(0)).orElseThrow();
            assertThat(n.reason()).contains("unschedulable");
        });
        assertThat(aws.pods().size() + gcp.pods().size()).isEqualTo(1);
    }

    @Test
    @DisplayName("A worker that cannot move keeps one reason, is not counted as re-placed, and backs off once per attempt")
    void aStuckWorkerDoesNotEscalate() {
        start();
        aws.stall(true);
        gcp.stall(true);
        String id = create(1).created().get(0);
        // it moves once (aws → gcp, both stuck), then has nowhere to go while aws backs off
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(registry.get(id).orElseThrow().reason()).contains(Replacer.NO_ROOM));
        String reason = registry.get(id).orElseThrow().reason();
        // workers are checked every 50 ms; the back-offs last 30 s: nothing may change meanwhile
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(registry.get(id).orElseThrow().reason()).isEqualTo(reason);
            assertThat(provisioner.backoffs()).hasSize(2).allSatisfy(b -> {
                assertThat(b.failures()).isEqualTo(1);
                assertThat(b.pause()).isEqualTo(Duration.ofSeconds(30));
            });
        });
        assertThat(reason).startsWith("unschedulable").containsOnlyOnce("unschedulable:")
                .containsOnlyOnce(Replacer.NO_ROOM);
        String scrape = metrics.scrape();
        assertThat(scrape).containsPattern("(?m)^ray_federation_replacements_total\\{member=\"aws-use1\",pool=\"cpu\"} 1\\.0$")
                .doesNotContainPattern("(?m)^ray_federation_replacements_total\\{member=\"gcp-usc1\"[^}]*} [1-9]");
        assertThat(aws.pods().size() + gcp.pods().size()).isEqualTo(1);
    }
}
