package dev.rayfederation.sidecar.sync;

import dev.rayfederation.k8s.member.InMemoryMemberCluster;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.member.WorkerPod;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.federation.Federation;
import dev.rayfederation.sidecar.placement.strategy.Strategies;
import dev.rayfederation.sidecar.provision.CreateOutcome;
import dev.rayfederation.sidecar.provision.CreateRequest;
import dev.rayfederation.sidecar.provision.TestConfigs;
import dev.rayfederation.sidecar.config.FederationConfig.VirtualCluster;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

@DisplayName("A sidecar restarted during a member outage keeps that member's nodes and pending terminations")
class StateStoreTest {

    @TempDir
    Path dir;
    private final List<ScheduledExecutorService> schedulers = new ArrayList<>();
    private final InMemoryMemberCluster aws = InMemoryMemberCluster.builder("aws-use1", "aws", 4, ResourceVector.ofQuantities(Map.of("CPU", "16"))).build();
    private final InMemoryMemberCluster gcp = InMemoryMemberCluster.builder("gcp-usc1", "gcp", 4, ResourceVector.ofQuantities(Map.of("CPU", "16"))).build();
    private final FederationConfig config = TestConfigs.config(
            List.of(TestConfigs.cluster("aws-use1", "aws", 0), TestConfigs.cluster("gcp-usc1", "gcp", 10)),
            List.of(new VirtualCluster("vc", ResourceVector.EMPTY)),
            List.of(TestConfigs.pool("cpu", "vc", Map.of("CPU", "4"), 50, Strategies.PRIORITY, List.of("aws-use1", "gcp-usc1"))));

    @AfterEach
    void stop() {
        schedulers.forEach(ScheduledExecutorService::shutdownNow);
    }

    private Federation sidecar() {
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
        schedulers.add(scheduler);
        Map<String, MemberCluster> members = new LinkedHashMap<>();
        members.put(aws.name(), aws);
        members.put(gcp.name(), gcp);
        NodeRegistry registry = new NodeRegistry();
        Federation p = new Federation(config, members, registry, scheduler,
                new FederationMetrics().observe(config, registry, members));
        p.restore(new StateStore(dir.resolve("state.json")));
        p.start();
        return p;
    }

    @Test
    void nodesStayStaleAndTerminationsResumeAfterARestart() {
        Federation first = sidecar();
        List<String> ids = first.create(new CreateRequest("cpu", 3, "r1", Map.of("k", "v"), Map.of(), Map.of(), Map.of(), "h1"))
                .toCompletableFuture().join().created();
        assertThat(gcp.pods()).hasSize(3);

        gcp.unreachable(true);
        String doomed = ids.get(0);
        assertThat(first.terminate(List.of(doomed)).terminating()).containsExactly(doomed);
        first.flush();
        schedulers.get(0).shutdownNow(); // the old sidecar dies

        Federation second = sidecar();
        await().atMost(Duration.ofSeconds(10)).until(second::ready);
        List<NodeRecord> snapshot = second.snapshot().nodes();
        assertThat(snapshot).extracting(NodeRecord::id).containsExactlyInAnyOrder(ids.get(1), ids.get(2));
        assertThat(second.snapshot().staleMembers()).containsExactly("gcp-usc1");
        assertThat(snapshot).allSatisfy(n -> assertThat(n.tags()).containsEntry("k", "v"));

        gcp.recover();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(gcp.pods()).extracting(WorkerPod::nodeId).containsExactlyInAnyOrder(ids.get(1), ids.get(2)));
        assertThat(second.snapshot().nodes()).hasSize(2);
        assertThat(second.snapshot().staleMembers()).isEmpty();
        // a replay of the first request after the restart creates nothing and answers the ids it made
        CreateOutcome replay = second.create(new CreateRequest("cpu", 3, "r1", Map.of("k", "v"), Map.of(), Map.of(), Map.of(), "h1"))
                .toCompletableFuture().join();
        assertThat(replay.replay()).isTrue();
        assertThat(gcp.pods()).hasSize(2);
    }
}
