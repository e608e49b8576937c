package dev.rayfederation.sidecar.provision;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.member.WorkerPod;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.Strategy;
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
    private final FakeMemberCluster aws = new FakeMemberCluster("aws-use1", "aws", 4,
            ResourceVector.ofQuantities(Map.of("CPU", "16")));
    private final FakeMemberCluster gcp = new FakeMemberCluster("gcp-usc1", "gcp", 4,
            ResourceVector.ofQuantities(Map.of("CPU", "16")));
    private NodeProvisioner provisioner;

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    private void start() {
        FederationConfig config = TestConfigs.config(
                List.of(TestConfigs.cluster("aws-use1", "aws", 10), TestConfigs.cluster("gcp-usc1", "gcp", 0)),
                List.of(new VirtualCluster("vc", ResourceVector.EMPTY)),
                List.of(TestConfigs.pool("cpu", "vc", Map.of("CPU", "4"), 50, Strategy.PRIORITY, List.of("aws-use1", "gcp-usc1"))));
        Map<String, MemberCluster> members = new LinkedHashMap<>();
        members.put(aws.name(), aws);
        members.put(gcp.name(), gcp);
        ReplacementPolicy fast = new ReplacementPolicy(Duration.ofMillis(200), Duration.ofSeconds(30), Duration.ofSeconds(60),
                Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofMinutes(10), Duration.ofMillis(50));
        NodeRegistry registry = new NodeRegistry();
        provisioner = new NodeProvisioner(config, members, registry, scheduler,
                new FederationMetrics().observe(config, registry, members), fast, Clock.systemUTC());
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
        List<NodeRecord> nodes = provisioner.registry().snapshot().nodes();
        assertThat(nodes).extracting(NodeRecord::id).containsExactlyInAnyOrderElementsOf(first.created());
        assertThat(nodes).allSatisfy(n -> {
            assertThat(n.member()).isEqualTo("gcp-usc1");
            assertThat(n.status()).isEqualTo("up-to-date");
        });
        assertThat(provisioner.backoff().active("aws-use1", "cpu")).isPresent();

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
            NodeRecord n = provisioner.registry().get(out.created().get(0)).orElseThrow();
            assertThat(n.reason()).contains("unschedulable");
        });
        assertThat(aws.pods().size() + gcp.pods().size()).isEqualTo(1);
    }
}
