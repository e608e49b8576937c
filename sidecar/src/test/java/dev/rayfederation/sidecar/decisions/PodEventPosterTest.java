package dev.rayfederation.sidecar.decisions;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.member.PodEventOutcome;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Which decisions become Kubernetes Events, on which pod, and how each event's fate is counted once. */
class PodEventPosterTest {

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final NodeRegistry registry = new NodeRegistry();
    private final FederationMetrics metrics = new FederationMetrics();
    private final AtomicInteger calls = new AtomicInteger();

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    /** A member "aws" whose postPodEvent answers {@code answers} in turn (the last one from then on), after {@code delay}. */
    private MemberCluster member(Duration delay, PodEventOutcome... answers) {
        Deque<PodEventOutcome> queue = new ArrayDeque<>(List.of(answers));
        return (MemberCluster) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {MemberCluster.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "name" -> "aws";
                    case "postPodEvent" -> {
                        calls.incrementAndGet();
                        PodEventOutcome next = queue.size() > 1 ? queue.poll() : queue.peek();
                        CompletionStage<PodEventOutcome> answer = CompletableFuture.supplyAsync(() -> next,
                                CompletableFuture.delayedExecutor(delay.toMillis(), TimeUnit.MILLISECONDS));
                        yield answer;
                    }
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    private PodEventPoster poster(MemberCluster member, Duration askAgainFor) {
        return new PodEventPoster(Map.of("aws", member), registry, scheduler, metrics, askAgainFor);
    }

    private NodeRecord node(String id, String member) {
        NodeRecord n = NodeRecord.builder().id(id).nodeType("cpu").pool("cpu").virtualCluster("vc").member(member)
                .podName("demo-" + id).tags(Map.of()).phase(NodeRecord.Phase.POD).created(Instant.now()).build();
        registry.put(n);
        return n;
    }

    private static Decision placed(String to, String... ids) {
        return new Decision(Instant.now(), Decision.Kind.PLACED, "cpu", "cpu", null, to, List.of(ids), ids.length, "spread");
    }

    private double counted(String outcome) {
        String line = "ray_federation_kubernetes_events_total{member=\"aws\",outcome=\"" + outcome + "\"} ";
        return metrics.scrape().lines().filter(l -> l.startsWith(line))
                .mapToDouble(l -> Double.parseDouble(l.substring(line.length()))).sum();
    }

    @Test
    @DisplayName("a member that answers at once that it has no such pod yet is asked again until it posts; counted posted once")
    void askedAgainWhileThePodIsBeingCreated() {
        node("n1", "aws");
        poster(member(Duration.ZERO, PodEventOutcome.NO_POD, PodEventOutcome.NO_POD, PodEventOutcome.POSTED),
                Duration.ofSeconds(10)).accept(placed("aws", "n1"));

        await().atMost(Duration.ofSeconds(20)).until(() -> counted("posted") == 1);
        assertThat(calls.get()).isEqualTo(3);
        assertThat(counted("no-pod")).isZero();
    }

    @Test
    @DisplayName("a member that waited for the pod itself is not asked again: counted no-pod, not dropped")
    void aFinalNoPodIsCountedAsSuch() {
        node("n1", "aws");
        // answers after 600 ms: asking again in 1 s would pass the 1.5 s this poster asks for
        poster(member(Duration.ofMillis(600), PodEventOutcome.NO_POD), Duration.ofMillis(1500)).accept(placed("aws", "n1"));

        await().atMost(Duration.ofSeconds(20)).until(() -> counted("no-pod") == 1);
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5)).until(() -> calls.get() == 1);
        assertThat(counted("dropped")).isZero();
    }

    @Test
    @DisplayName("only placements and re-placements to the member a worker is on become events; one per worker")
    void whichDecisionsBecomeEvents() {
        node("n1", "aws");
        node("n2", "aws");
        node("moved", "gcp");
        PodEventPoster poster = poster(member(Duration.ZERO, PodEventOutcome.POSTED), Duration.ofSeconds(10));

        poster.accept(placed("aws", "n1", "n2"));
        poster.accept(placed("aws", "moved")); // no longer there
        poster.accept(new Decision(Instant.now(), Decision.Kind.REJECTED, "cpu", "cpu", null, null, List.of(), 3, "quota: x"));
        poster.accept(new Decision(Instant.now(), Decision.Kind.TERMINATED, "cpu", "cpu", "aws", null, List.of("n1"), 1, "t"));

        await().atMost(Duration.ofSeconds(20)).until(() -> counted("posted") == 2);
        assertThat(calls.get()).isEqualTo(2);
    }
}
