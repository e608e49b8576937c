package dev.rayfederation.sidecar.provision;

import dev.rayfederation.k8s.member.InMemoryMemberCluster;
import dev.rayfederation.k8s.member.MemberApiException;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.member.MemberState;
import dev.rayfederation.k8s.member.WorkerPod;
import dev.rayfederation.k8s.resilience.CallRefusedException;
import dev.rayfederation.k8s.resilience.ResilienceOptions.CreateSettings;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.VirtualCluster;
import dev.rayfederation.sidecar.federation.Federation;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.placement.strategy.Strategies;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import dev.rayfederation.sidecar.registry.NodeStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeoutException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Creates whose outcome is unknown: sent to a member that went silent, never answered. Their pods may exist, so
 * they are never answered as rejected (Ray would launch a second worker while the first runs, unlisted): they are
 * listed as pending until the member confirms the pod (adopted) or, after answering for 10 s, its absence
 * (forgotten). The silent member's create attempts time out after 2 s, as {@code resilience.create.attemptTimeout}.
 */
@DisplayName("Creates of unknown outcome")
class UnknownOutcomeTest {

    static final Duration ATTEMPT = CreateSettings.DEFAULT_ATTEMPT_TIMEOUT;
    static final Duration PATIENCE = Duration.ofSeconds(30);

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final InMemoryMemberCluster aws = InMemoryMemberCluster.builder("aws-use1", "aws", 4,
            ResourceVector.ofQuantities(Map.of("CPU", "16"))).build();
    private final InMemoryMemberCluster gcp = InMemoryMemberCluster.builder("gcp-usc1", "gcp", 4,
            ResourceVector.ofQuantities(Map.of("CPU", "16"))).build();
    private Federation federation;
    private NodeRegistry registry;
    private FederationMetrics metrics;

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    /** aws first (priority), gcp only when the pool may use it. */
    private void start(List<String> allowed) {
        FederationConfig config = TestConfigs.config(
                List.of(TestConfigs.cluster("aws-use1", "aws", 10), TestConfigs.cluster("gcp-usc1", "gcp", 0)),
                List.of(new VirtualCluster("vc", ResourceVector.EMPTY)),
                List.of(TestConfigs.pool("cpu", "vc", Map.of("CPU", "4"), 50, Strategies.PRIORITY, allowed)));
        Map<String, MemberCluster> members = new LinkedHashMap<>();
        members.put(aws.name(), aws);
        members.put(gcp.name(), gcp);
        registry = new NodeRegistry();
        metrics = new FederationMetrics().observe(config, registry, members);
        federation = new Federation(config, members, registry, scheduler, metrics);
        federation.start();
    }

    private CompletionStage<CreateOutcome> create(int count) {
        return federation.create(new CreateRequest("cpu", count, UUID.randomUUID().toString(), Map.of(), Map.of(),
                Map.of(), Map.of(), UUID.randomUUID().toString()));
    }

    /** aws goes silent with a create of one worker under way, and its probe then finds it unreachable. */
    private CreateOutcome createIntoTheSilence(boolean podMade) {
        aws.silentCreates(podMade, ATTEMPT);
        CompletionStage<CreateOutcome> answer = create(1);
        aws.setState(MemberState.UNREACHABLE);
        return answer.toCompletableFuture().join();
    }

    private Optional<NodeRecord> listed(String id) {
        return federation.snapshot().nodes().stream().filter(n -> n.id().equals(id)).findFirst();
    }

    @Test
    @DisplayName("whose pod was made: answered before the plugin's timeout as created and pending, listed as "
            + "'pending: outcome-unknown' with the reason, and adopted once the member answers")
    void aPodMadeWithoutAnAnswerIsListedThenAdopted() {
        start(List.of("aws-use1"));
        Instant sent = Instant.now();

        CreateOutcome out = createIntoTheSilence(true);

        assertThat(Duration.between(sent, Instant.now())).as("answered while the plugin still waits")
                .isLessThan(CreateSettings.PLUGIN_TIMEOUT);
        assertThat(out.created()).hasSize(1);
        assertThat(out.pending()).isEqualTo(out.created());
        assertThat(out.rejected().count()).isZero();
        String id = out.created().get(0);
        NodeRecord node = listed(id).orElseThrow();
        assertThat(node.status()).isEqualTo(NodeStatus.OUTCOME_UNKNOWN);
        assertThat(node.reason()).isEqualTo("create outcome unknown: member aws-use1 did not answer (no answer within 2000ms); "
                + "listed until aws-use1 confirms the pod or its absence");
        assertThat(federation.snapshot().stale(node)).as("its member cannot be reached").isTrue();
        assertThat(aws.pods()).as("the pod exists, unheard of").extracting(WorkerPod::nodeId).containsExactly(id);
        // no answer for as long as the member is silent: the node stays listed as it is
        await().during(Duration.ofSeconds(2)).atMost(PATIENCE).until(() ->
                listed(id).map(n -> NodeStatus.OUTCOME_UNKNOWN.equals(n.status())).orElse(false));

        aws.recover();

        await().atMost(PATIENCE).untilAsserted(() -> {
            NodeRecord adopted = listed(id).orElseThrow();
            assertThat(adopted.phase()).isEqualTo(NodeRecord.Phase.POD);
            assertThat(adopted.status()).isNotEqualTo(NodeStatus.OUTCOME_UNKNOWN);
            assertThat(adopted.podName()).isEqualTo(node.podName());
        });
        assertThat(aws.pods()).extracting(WorkerPod::nodeId).containsExactly(id);
        assertThat(gcp.pods()).isEmpty();
        assertThat(federation.snapshot().nodes()).hasSize(1);
    }

    @Test
    @DisplayName("whose pod was never made: listed while the member is silent, forgotten once it has answered for 10 s "
            + "without the pod (Ray then asks again)")
    void aCreateThatNeverHappenedIsForgottenAfterTenSecondsOfAnswers() {
        start(List.of("aws-use1"));
        CreateOutcome out = createIntoTheSilence(false);
        String id = out.pending().get(0);
        await().during(Duration.ofSeconds(2)).atMost(PATIENCE).until(() -> listed(id).isPresent());

        aws.recover();
        Instant back = Instant.now();

        await().during(UnknownFates.CONFIRM_AFTER.minusSeconds(1)).atMost(PATIENCE).until(() -> listed(id).isPresent());
        await().atMost(PATIENCE).until(() -> listed(id).isEmpty());
        assertThat(Duration.between(back, Instant.now())).isGreaterThanOrEqualTo(UnknownFates.CONFIRM_AFTER);
        assertThat(aws.pods()).isEmpty();
        assertThat(metrics.scrape()).containsPattern(
                "(?m)^ray_federation_rejected_workers_total\\{pool=\"cpu\",reason=\"unavailable\"} 1\\.0$");
    }

    @Test
    @DisplayName("terminated while pending: its pod is deleted once the member answers, and not adopted again")
    void terminatingAPendingNodeDeletesItsPod() {
        start(List.of("aws-use1"));
        String id = createIntoTheSilence(true).pending().get(0);

        assertThat(federation.terminate(List.of(id)).terminating()).containsExactly(id);
        assertThat(listed(id)).as("leaves the snapshot at once").isEmpty();
        assertThat(aws.pods()).as("the silent member has not deleted it yet").hasSize(1);

        aws.recover();

        await().atMost(PATIENCE).until(() -> aws.pods().isEmpty());
        await().during(Duration.ofSeconds(2)).atMost(PATIENCE).until(() -> listed(id).isEmpty() && aws.pods().isEmpty());
    }

    @Test
    @DisplayName("with another member free and time left before the deadline: placed there under the same id, and "
            + "the first pod deleted once its member answers")
    void aCreateWithoutAnAnswerMovesElsewhereInTime() {
        start(List.of("aws-use1", "gcp-usc1"));

        CreateOutcome out = createIntoTheSilence(true);

        assertThat(out.created()).hasSize(1);
        assertThat(out.pending()).as("confirmed on gcp").isEmpty();
        String id = out.created().get(0);
        assertThat(listed(id).orElseThrow().member()).isEqualTo("gcp-usc1");
        assertThat(gcp.pods()).extracting(WorkerPod::nodeId).containsExactly(id);
        assertThat(aws.pods()).as("the first pod, unheard of").extracting(WorkerPod::nodeId).containsExactly(id);

        aws.recover();

        await().atMost(PATIENCE).until(() -> aws.pods().isEmpty());
        assertThat(gcp.pods()).extracting(WorkerPod::nodeId).containsExactly(id);
        assertThat(listed(id).orElseThrow().member()).isEqualTo("gcp-usc1");
    }

    @Test
    @DisplayName("are told apart from failures whose outcome is certain")
    void whichFailuresLeaveTheOutcomeUnknown() {
        CallRefusedException refused = new CallRefusedException("aws-use1", "create pod p", "member:aws-use1",
                "circuit breaker member:aws-use1 is open");

        assertThat(Failures.outcomeUnknown(new CompletionException(new TimeoutException()))).isTrue();
        assertThat(Failures.outcomeUnknown(new CancellationException())).isTrue();
        assertThat(Failures.outcomeUnknown(new MemberApiException("aws-use1", "create pod p", 503, "unavailable", null)))
                .as("a 5xx may have been carried out").isTrue();
        assertThat(Failures.outcomeUnknown(refused.afterSent(1))).as("a retry refused after an unanswered attempt").isTrue();
        assertThat(Failures.outcomeUnknown(refused)).as("refused before anything was sent").isFalse();
        assertThat(Failures.outcomeUnknown(new MemberApiException("aws-use1", "create pod p", 409, "AlreadyExists", null)))
                .isFalse();
    }
}
