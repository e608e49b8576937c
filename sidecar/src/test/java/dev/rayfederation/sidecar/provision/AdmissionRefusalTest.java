package dev.rayfederation.sidecar.provision;

import dev.rayfederation.k8s.member.InMemoryMemberCluster;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.member.WorkerPod;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.VirtualCluster;
import dev.rayfederation.sidecar.federation.Federation;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.placement.strategy.Strategies;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A member whose API server refuses our pods as configured (422 invalid, 403 PodSecurity or missing PriorityClass,
 * 403 exceeded quota) will refuse them again: that is not an outage to wait out but a fault of that (member, pool).
 */
@DisplayName("Pods refused by a member's admission")
class AdmissionRefusalTest {

    private static final String POD_SECURITY = "pods \"rf-x\" is forbidden: violates PodSecurity \"restricted:latest\": "
            + "allowPrivilegeEscalation != false";

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final InMemoryMemberCluster aws = InMemoryMemberCluster.builder("aws-use1", "aws", 4,
            ResourceVector.ofQuantities(Map.of("CPU", "16"))).build();
    private final InMemoryMemberCluster gcp = InMemoryMemberCluster.builder("gcp-usc1", "gcp", 4,
            ResourceVector.ofQuantities(Map.of("CPU", "16"))).build();
    private Federation federation;

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    private void start(List<String> allowed) {
        FederationConfig config = TestConfigs.config(
                List.of(TestConfigs.cluster("aws-use1", "aws", 10), TestConfigs.cluster("gcp-usc1", "gcp", 0)),
                List.of(new VirtualCluster("vc", ResourceVector.EMPTY)),
                List.of(TestConfigs.pool("cpu", "vc", Map.of("CPU", "4"), 50, Strategies.SPREAD, allowed)));
        Map<String, MemberCluster> members = new LinkedHashMap<>();
        members.put(aws.name(), aws);
        members.put(gcp.name(), gcp);
        NodeRegistry registry = new NodeRegistry();
        federation = new Federation(config, members, registry, scheduler,
                new FederationMetrics().observe(config, registry, members));
        federation.start();
    }

    private CreateOutcome create(int count) {
        return federation.create(new CreateRequest("cpu", count, UUID.randomUUID().toString(), Map.of(), Map.of(),
                Map.of(), Map.of(), UUID.randomUUID().toString())).toCompletableFuture().join();
    }

    @Test
    @DisplayName("Workers refused by one member land on another at once; the refusing pair backs off with the server's words")
    void refusedWorkersGoElsewhere() {
        start(List.of("aws-use1", "gcp-usc1"));
        aws.refuseCreates(403, POD_SECURITY);
        CreateOutcome out = create(6);
        assertThat(out.created()).hasSize(6);
        assertThat(out.rejected().count()).isZero();
        assertThat(gcp.pods()).extracting(WorkerPod::nodeId).containsExactlyInAnyOrderElementsOf(out.created());
        assertThat(aws.pods()).isEmpty();
        assertThat(federation.backoffs()).singleElement().satisfies(b -> {
            assertThat(b.member()).isEqualTo("aws-use1");
            assertThat(b.pool()).isEqualTo("cpu");
            assertThat(b.failures()).as("one back-off for a burst refused at once").isEqualTo(1);
            assertThat(b.reason()).isEqualTo("forbidden by policy: " + POD_SECURITY);
        });
        // while it backs off, new workers do not even try it
        int callsBefore = aws.createCalls.get();
        assertThat(create(2).created()).hasSize(2);
        assertThat(aws.createCalls.get()).isEqualTo(callsBefore);
    }

    @Test
    @DisplayName("With nowhere else to go, the rejection carries the API server's message")
    void rejectionSaysWhy() {
        start(List.of("aws-use1"));
        aws.refuseCreates(403, "pods \"rf-x\" is forbidden: exceeded quota: compute, requested: cpu=4, used: cpu=8, limited: cpu=10");
        CreateOutcome out = create(2);
        assertThat(out.created()).isEmpty();
        assertThat(out.rejected().count()).isEqualTo(2);
        assertThat(out.rejected().message()).contains("namespace quota exceeded", "exceeded quota: compute");
        assertThat(federation.snapshot().nodes()).isEmpty();
        assertThat(federation.backoffs()).singleElement()
                .satisfies(b -> assertThat(b.reason()).startsWith("namespace quota exceeded"));
    }

    @Test
    @DisplayName("An invalid pod (422) is a configuration fault of the pair, not an outage of the member")
    void invalidPodBacksOffThePair() {
        start(List.of("aws-use1", "gcp-usc1"));
        aws.refuseCreates(422, "Pod \"rf-x\" is invalid: spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\"");
        assertThat(create(3).created()).hasSize(3);
        assertThat(federation.backoffs()).singleElement()
                .satisfies(b -> assertThat(b.reason()).startsWith("invalid pod: ").contains("imagePullPolicy"));
        assertThat(federation.members().get("aws-use1").state().wire()).isEqualTo("healthy");
    }
}
