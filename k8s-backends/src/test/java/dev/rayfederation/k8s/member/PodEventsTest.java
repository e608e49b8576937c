package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.resources.ResourceVector;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import static dev.rayfederation.k8s.member.Fabric8MemberClusterTest.NS;
import static dev.rayfederation.k8s.member.Fabric8MemberClusterTest.join;
import static dev.rayfederation.k8s.member.Fabric8MemberClusterTest.worker;
import static dev.rayfederation.k8s.testing.KubeObjects.node;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Kubernetes Events on worker pods against a fabric8 mock API server in CRUD mode: what lands on the pod, what is
 * deduplicated and rate-limited, and what happens when the pod never shows or the member refuses.
 */
class PodEventsTest {

    @TempDir
    Path dir;

    private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
    private final SettableClock clock = new SettableClock(Instant.parse("2026-12-04T17:00:00Z"));
    private final List<WorkerPod> informer = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        executor.shutdownNow();
        // API servers first (see Fabric8MemberClusterTest: a client closing a watch mid-event can hang the mock)
        for (AutoCloseable c : cleanup) {
            if (c instanceof MockMember) {
                c.close();
            }
        }
        for (AutoCloseable c : cleanup) {
            if (!(c instanceof MockMember)) {
                c.close();
            }
        }
    }

    private MockMember member(String... forbiddenPaths) {
        MockMember m = MockMember.start("aws-use1", dir, forbiddenPaths).withNamespace(NS);
        cleanup.add(m);
        return m;
    }

    /** PodEvents over {@code m}'s API with {@link #informer} as the member's view of its pods. */
    private PodEvents events(MockMember m) {
        KubernetesClient client = m.admin();
        return new PodEvents(NS, () -> client, name -> informer.stream().filter(p -> p.podName().equals(name)).findFirst(),
                executor, clock);
    }

    /** A pod stored on the member and seen by the informer. */
    private WorkerPod pod(MockMember m, String name) {
        Pod stored = m.admin().pods().inNamespace(NS).resource(new io.fabric8.kubernetes.api.model.PodBuilder()
                .withNewMetadata().withName(name).withNamespace(NS).endMetadata()
                .withNewSpec().addNewContainer().withName("ray-worker").withImage("rayproject/ray:2.60.0").endContainer().endSpec()
                .build()).create();
        WorkerPod w = seen(name, stored.getMetadata().getUid());
        informer.add(w);
        return w;
    }

    private static WorkerPod seen(String podName, String uid) {
        return new WorkerPod("aws-use1", podName, uid, "n-" + podName, "cpu", "vc", "cpu", Map.of(), "req", "hash", 1,
                "Pending", false, null, null, null, null, null, false, Instant.now(), ResourceVector.EMPTY);
    }

    private static List<Event> stored(MockMember m) {
        return m.admin().v1().events().inNamespace(NS).list().getItems();
    }

    private static PodEventOutcome outcome(CompletionStage<PodEventOutcome> stage) throws Exception {
        return join(stage);
    }

    @Test
    @DisplayName("a Placed event lands on the worker's pod through the member: involvedObject by name and uid, Normal, from ray-federation")
    void placedEventOnThePod() throws Exception {
        MockMember aws = member();
        aws.withNodes(node("aws-1").cpu("16").memory("64Gi").pods("110").build());
        MemberCluster member = MemberClusters.connect(Fabric8MemberClusterTest.spec(aws.name, aws.kubeconfig, aws.name),
                Fabric8MemberClusterTest.options());
        cleanup.add(member);
        join(member.start());
        WorkerPod pod = join(member.createWorker(worker("n-1", "aws-use1")));

        PodEventOutcome o = outcome(member.postPodEvent(pod.podName(), "Placed",
                "ray-federation placed this cpu-small worker (pool cpu-small) on member aws-use1: spread", false));

        assertThat(o).isEqualTo(PodEventOutcome.POSTED);
        Pod stored = aws.admin().pods().inNamespace(NS).withName(pod.podName()).get();
        assertThat(stored(aws)).singleElement().satisfies(e -> {
            assertThat(e.getInvolvedObject().getKind()).isEqualTo("Pod");
            assertThat(e.getInvolvedObject().getName()).isEqualTo(pod.podName());
            assertThat(e.getInvolvedObject().getNamespace()).isEqualTo(NS);
            assertThat(e.getInvolvedObject().getUid()).isEqualTo(stored.getMetadata().getUid()).isNotBlank();
            assertThat(e.getReason()).isEqualTo("Placed");
            assertThat(e.getType()).isEqualTo("Normal");
            assertThat(e.getSource().getComponent()).isEqualTo("ray-federation");
            assertThat(e.getMessage()).isEqualTo("ray-federation placed this cpu-small worker (pool cpu-small) on member aws-use1: spread");
            assertThat(e.getCount()).isEqualTo(1);
            assertThat(e.getMetadata().getName()).startsWith(pod.podName() + ".");
        });
    }

    @Test
    @DisplayName("a warning is type Warning, and a message over 1 KiB is cut with an ellipsis")
    void warningAndLongMessage() throws Exception {
        MockMember aws = member();
        pod(aws, "w-1");

        assertThat(outcome(events(aws).post("w-1", "Rejected", "x".repeat(5000), true))).isEqualTo(PodEventOutcome.POSTED);

        assertThat(stored(aws)).singleElement().satisfies(e -> {
            assertThat(e.getType()).isEqualTo("Warning");
            assertThat(e.getMessage()).hasSize(1024).endsWith("...");
        });
    }

    @Test
    @DisplayName("the same reason on the same pod is posted once per 5 minutes; another reason or pod is not held back")
    void sameEventOncePerFiveMinutes() throws Exception {
        MockMember aws = member();
        pod(aws, "w-1");
        pod(aws, "w-2");
        PodEvents events = events(aws);

        assertThat(outcome(events.post("w-1", "Placed", "first", false))).isEqualTo(PodEventOutcome.POSTED);
        assertThat(outcome(events.post("w-1", "Placed", "again", false))).isEqualTo(PodEventOutcome.DROPPED);
        assertThat(outcome(events.post("w-1", "Replaced", "moved", false))).isEqualTo(PodEventOutcome.POSTED);
        assertThat(outcome(events.post("w-2", "Placed", "other pod", false))).isEqualTo(PodEventOutcome.POSTED);
        clock.advance(PodEvents.SAME_EVENT_EVERY.minusSeconds(1));
        assertThat(outcome(events.post("w-1", "Placed", "still too soon", false))).isEqualTo(PodEventOutcome.DROPPED);
        clock.advance(Duration.ofSeconds(1));
        assertThat(outcome(events.post("w-1", "Placed", "5 minutes later", false))).isEqualTo(PodEventOutcome.POSTED);

        assertThat(stored(aws)).extracting(Event::getMessage)
                .containsExactlyInAnyOrder("first", "moved", "other pod", "5 minutes later");
    }

    @Test
    @DisplayName("a member gets a burst of 100 events, then 10 per second")
    void rateLimitPerMember() throws Exception {
        MockMember aws = member();
        for (int i = 0; i < PodEvents.BURST + 20; i++) {
            informer.add(seen("w-" + i, "uid-" + i)); // the pods need not exist for the API server to store events
        }
        PodEvents events = events(aws);

        List<PodEventOutcome> burst = new ArrayList<>();
        for (int i = 0; i < PodEvents.BURST + 5; i++) {
            burst.add(outcome(events.post("w-" + i, "Placed", "burst " + i, false)));
        }
        clock.advance(Duration.ofSeconds(1));
        List<PodEventOutcome> later = new ArrayList<>();
        for (int i = PodEvents.BURST + 5; i < PodEvents.BURST + 20; i++) {
            later.add(outcome(events.post("w-" + i, "Placed", "later " + i, false)));
        }

        assertThat(burst.subList(0, PodEvents.BURST)).containsOnly(PodEventOutcome.POSTED);
        assertThat(burst.subList(PodEvents.BURST, burst.size())).containsOnly(PodEventOutcome.DROPPED);
        assertThat(later.subList(0, 10)).as("one second refills 10").containsOnly(PodEventOutcome.POSTED);
        assertThat(later.subList(10, later.size())).containsOnly(PodEventOutcome.DROPPED);
        assertThat(stored(aws)).hasSize(PodEvents.BURST + 10);
    }

    @Test
    @DisplayName("an event waits for its pod to show in the informer, and is posted once it does")
    void waitsForThePod() throws Exception {
        MockMember aws = member();
        PodEvents events = events(aws);

        CompletionStage<PodEventOutcome> pending = events.post("w-late", "Placed", "late pod", false);
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                .until(() -> !pending.toCompletableFuture().isDone());
        pod(aws, "w-late");

        assertThat(outcome(pending)).isEqualTo(PodEventOutcome.POSTED);
        assertThat(stored(aws)).singleElement().satisfies(e -> assertThat(e.getInvolvedObject().getName()).isEqualTo("w-late"));
    }

    @Test
    @DisplayName("a pod that does not show within 30 s gets no event: NO_POD, nothing posted")
    void noPodAfterTheWait() throws Exception {
        MockMember aws = member();
        PodEvents events = events(aws);

        CompletionStage<PodEventOutcome> pending = events.post("w-never", "Placed", "never", false);
        clock.advance(PodEvents.WAIT_FOR_POD.plusSeconds(1));

        assertThat(outcome(pending)).isEqualTo(PodEventOutcome.NO_POD);
        assertThat(stored(aws)).isEmpty();
    }

    @Test
    @DisplayName("a member whose RBAC forbids creating events answers FAILED")
    void forbiddenEventsFail() throws Exception {
        MockMember aws = member("/api/v1/namespaces/" + NS + "/events");
        pod(aws, "w-1");

        assertThat(outcome(events(aws).post("w-1", "Placed", "refused", false))).isEqualTo(PodEventOutcome.FAILED);
    }

    /** A clock tests move by hand. */
    private static final class SettableClock extends Clock {

        private volatile Instant now;

        SettableClock(Instant start) {
            this.now = start;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
