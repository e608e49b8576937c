package dev.rayfederation.sidecar.antray;

import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.AntRayCluster;
import dev.rayfederation.sidecar.config.FederationConfig.VirtualCluster;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.placement.strategy.Strategies;
import dev.rayfederation.sidecar.provision.TestConfigs;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRecord.Phase;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import dev.rayfederation.sidecar.registry.NodeStatus;
import dev.rayfederation.sidecar.registry.RayTags;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The sync between our virtual clusters and ant-ray's, against a stand-in for ant-ray's dashboard that answers as
 * ant-ray 2.44 does ({@link FakeAntRayDashboard}). Most tests drive one tick at a time on a manual clock; the
 * shrink-before-delete tests run the sync's own thread, as the sidecar does.
 */
class AntRaySyncTest {

    private static final Duration RETRY = Duration.ofSeconds(1);
    private static final Duration SHRINK_WAIT = Duration.ofSeconds(5);
    private static final String A = "ant-a"; // team-a's id in ant-ray
    private static final String B = "team-b"; // team-b's: its name, by default

    private final FakeAntRayDashboard dashboard = new FakeAntRayDashboard();
    private final ManualClock clock = new ManualClock();
    private final NodeRegistry registry = new NodeRegistry();
    private final FederationConfig config = config();
    private final FederationMetrics metrics = new FederationMetrics();
    private AntRaySync sync = newSync();

    private FederationConfig config() {
        FederationConfig c = TestConfigs.config(List.of(TestConfigs.cluster("aws-use1", "aws", 0)),
                List.of(new VirtualCluster("team-a", ResourceVector.EMPTY, new AntRayCluster(A, false)),
                        new VirtualCluster("team-b", ResourceVector.EMPTY)),
                List.of(TestConfigs.pool("batch-a", "team-a", Map.of("CPU", "1"), 10, Strategies.SPREAD, List.of("aws-use1")),
                        TestConfigs.pool("batch-b", "team-b", Map.of("CPU", "1"), 10, Strategies.SPREAD, List.of("aws-use1"))));
        return new FederationConfig(c.rayCluster(), c.api(), c.management(), c.clusters(), c.virtualClusters(), c.pools(),
                c.timing(), c.resilience(), c.replacement(),
                new FederationConfig.AntRay(true, dashboard.url(), Duration.ofSeconds(2), RETRY, SHRINK_WAIT));
    }

    private AntRaySync newSync() {
        return new AntRaySync(config, registry, new AntRayDashboard(dashboard.url(), Duration.ofSeconds(2)), metrics, clock);
    }

    @BeforeEach
    void observe() {
        metrics.observeAntRay(() -> sync.status());
    }

    @AfterEach
    void stop() {
        sync.stop();
        dashboard.close();
    }

    /** A worker of batch-a whose pod is Running and Ready; its Ray node has joined the primary cluster idle. */
    private NodeRecord upToDate(String id) {
        NodeRecord r = NodeRecord.builder().id(id).nodeType("batch-a").pool("batch-a").virtualCluster("team-a")
                .member("aws-use1").podName("demo-batch-a-" + id).phase(Phase.POD).status(RayTags.STATUS_UP_TO_DATE).build();
        registry.put(r);
        dashboard.joinIdle("ray-" + id, "batch-a");
        return r;
    }

    private NodeRecord terminating(String id) {
        return registry.update(id, r -> r.withPhase(Phase.TERMINATING)).orElseThrow();
    }

    private AntRaySync.Status status() {
        return sync.status().get("team-a");
    }

    private List<Integer> askedForBatchA() {
        return dashboard.askedReplicaSets(A).stream().map(s -> ((Number) s.get("batch-a")).intValue()).toList();
    }

    @Nested
    class Growing {

        @Test
        @DisplayName("Every virtual cluster is created in ant-ray at start, empty, under its antRay id")
        void everyVirtualClusterIsCreatedAtStart() {
            sync.tick();

            assertThat(dashboard.exists(A)).isTrue();
            assertThat(dashboard.exists(B)).isTrue();
            assertThat(dashboard.posts().get(0)).isEqualTo(Map.of("virtualClusterId", A, "divisible", false,
                    "replicaSets", Map.of("batch-a", 0), "revision", 0));
            assertThat(status()).isEqualTo(new AntRaySync.Status(A, 0, Map.of(), 0, null, clock.instant()));
        }

        @Test
        @DisplayName("A worker moves into its virtual cluster once its pod is Ready, not when it is only starting")
        void aWorkerMovesInOnceReady() {
            upToDate("n1");
            registry.update("n1", r -> r.toBuilder().status(NodeStatus.STARTING).build());
            sync.tick();
            assertThat(dashboard.nodes(A)).isEmpty();

            registry.update("n1", r -> r.toBuilder().status(RayTags.STATUS_UP_TO_DATE).build());
            sync.tick();

            assertThat(dashboard.nodes(A)).isEqualTo(Map.of("ray-n1", "batch-a"));
            assertThat(dashboard.nodes(B)).isEmpty();
            assertThat(status().nodes()).isEqualTo(1);
            assertThat(status().nodesByTemplate()).isEqualTo(Map.of("batch-a", 1));
            assertThat(status().pendingMoves()).isZero();
        }

        @Test
        @DisplayName("Every update carries the revision of ant-ray's last answer; the cached list is never read for it")
        void updatesCarryTheLastAnswersRevision() {
            sync.tick();
            long first = dashboard.revision(A);
            upToDate("n1");
            sync.tick();

            assertThat(dashboard.posts().stream().filter(p -> A.equals(p.get("virtualClusterId")))
                    .map(p -> ((Number) p.get("revision")).longValue()).toList()).containsExactly(0L, first);
            assertThat(dashboard.nodes(A)).hasSize(1);
            assertThat(dashboard.lists()).isZero();
        }
    }

    @Nested
    class Revisions {

        @Test
        @DisplayName("An expired revision is replaced by the latest one from ant-ray's refusal and the update sent again")
        void anExpiredRevisionIsRetriedWithTheLatest() {
            dashboard.existing(A, false);
            long latest = dashboard.revision(A);

            sync.tick();

            assertThat(dashboard.posts().stream().filter(p -> A.equals(p.get("virtualClusterId")))
                    .map(p -> ((Number) p.get("revision")).longValue()).toList()).containsExactly(0L, latest);
            assertThat(status().lastError()).isNull();
            assertThat(dashboard.revision(A)).isNotEqualTo(latest);
        }

        @Test
        @DisplayName("A virtual cluster removed behind the sidecar's back is created again at the next resync")
        void aRemovedVirtualClusterComesBackAtTheNextResync() {
            upToDate("n1");
            sync.tick();
            dashboard.forget(A);

            sync.tick();
            assertThat(dashboard.exists(A)).as("nothing changed on our side: no update before the resync").isFalse();

            clock.advance(AntRaySync.RESYNC);
            sync.tick();

            assertThat(dashboard.nodes(A)).isEqualTo(Map.of("ray-n1", "batch-a"));
            assertThat(status().lastError()).isNull();
        }
    }

    @Nested
    class NotEnoughIdleNodes {

        @Test
        @DisplayName("When fewer idle nodes can move than asked, the sync takes what can move now and the rest later")
        void takesWhatCanMoveNowAndTheRestLater() {
            upToDate("n1");
            registry.put(NodeRecord.builder().id("n2").nodeType("batch-a").pool("batch-a").virtualCluster("team-a")
                    .member("aws-use1").podName("demo-batch-a-n2").phase(Phase.POD).status(RayTags.STATUS_UP_TO_DATE).build());

            sync.tick();

            assertThat(askedForBatchA()).containsExactly(2, 1);
            assertThat(dashboard.nodes(A)).hasSize(1);
            assertThat(status().pendingMoves()).isEqualTo(1);
            assertThat(status().lastError()).startsWith("waiting for idle nodes");

            dashboard.joinIdle("ray-n2", "batch-a");
            sync.tick();
            assertThat(askedForBatchA()).as("the rest is asked for after retryInterval").hasSize(2);

            clock.advance(RETRY);
            sync.tick();

            assertThat(askedForBatchA()).containsExactly(2, 1, 2);
            assertThat(dashboard.nodes(A)).hasSize(2);
            assertThat(status().pendingMoves()).isZero();
            assertThat(status().lastError()).isNull();
        }

        @Test
        @DisplayName("Growth that cannot happen yet never gives up the nodes the virtual cluster already holds")
        void growthThatMustWaitKeepsTheNodesHeld() {
            upToDate("n1");
            sync.tick();
            for (String id : List.of("n2", "n3")) {
                registry.put(NodeRecord.builder().id(id).nodeType("batch-a").pool("batch-a").virtualCluster("team-a")
                        .member("aws-use1").podName("demo-batch-a-" + id).phase(Phase.POD).status(RayTags.STATUS_UP_TO_DATE).build());
            }

            for (int i = 0; i < 3; i++) {
                clock.advance(RETRY);
                sync.tick();
            }

            assertThat(askedForBatchA()).as("ant-ray can add 0: the sync waits instead of asking for 0").containsOnly(1, 3);
            assertThat(dashboard.nodes(A)).isEqualTo(Map.of("ray-n1", "batch-a"));
            assertThat(status().pendingMoves()).isEqualTo(2);
        }

        @Test
        @DisplayName("After a restart the sync learns what the virtual cluster holds and never shrinks it to grow it")
        void aRestartedSyncKeepsWhatTheVirtualClusterHolds() {
            upToDate("n1");
            upToDate("n2");
            sync.tick();
            assertThat(dashboard.nodes(A)).hasSize(2);

            registry.put(NodeRecord.builder().id("n3").nodeType("batch-a").pool("batch-a").virtualCluster("team-a")
                    .member("aws-use1").podName("demo-batch-a-n3").phase(Phase.POD).status(RayTags.STATUS_UP_TO_DATE).build());
            sync = newSync();
            sync.tick();

            assertThat(dashboard.nodes(A)).hasSize(2);
            assertThat(askedForBatchA()).as("restarted: 3 on revision 0 (expired), 3 on the latest (refused), then the 2 it holds")
                    .containsExactly(2, 3, 3, 2);
            assertThat(status().pendingMoves()).isEqualTo(1);
        }
    }

    @Nested
    class DashboardDown {

        @Test
        @DisplayName("Failed updates back off, doubling, and show in the status and the metrics until the dashboard is back")
        void failuresBackOffAndAreVisible() {
            upToDate("n1");
            dashboard.goAway();

            sync.tick();
            int perAttempt = dashboard.requestCount();
            assertThat(perAttempt).as("one update per virtual cluster").isEqualTo(2);
            assertThat(status().lastError()).startsWith("dashboard unreachable: POST /virtual_clusters");
            assertThat(status().pendingMoves()).isEqualTo(1);
            assertThat(status().lastSyncAt()).isNull();
            assertThat(metrics.scrape())
                    .contains("ray_federation_antray_errors_total{virtual_cluster=\"team-a\"} 1.0")
                    .contains("ray_federation_antray_in_error{virtual_cluster=\"team-a\"} 1")
                    .contains("ray_federation_antray_pending_moves{virtual_cluster=\"team-a\"} 1");

            sync.tick();
            assertThat(dashboard.requestCount()).as("no retry before retryInterval").isEqualTo(perAttempt);
            clock.advance(RETRY);
            sync.tick();
            assertThat(dashboard.requestCount()).isEqualTo(2 * perAttempt);
            clock.advance(RETRY);
            sync.tick();
            assertThat(dashboard.requestCount()).as("the second failure waits twice as long").isEqualTo(2 * perAttempt);
            clock.advance(RETRY);
            sync.tick();
            assertThat(dashboard.requestCount()).isEqualTo(3 * perAttempt);

            dashboard.comeBack();
            clock.advance(RETRY.multipliedBy(4));
            sync.tick();

            assertThat(dashboard.nodes(A)).isEqualTo(Map.of("ray-n1", "batch-a"));
            assertThat(status().lastError()).isNull();
            assertThat(status().lastSyncAt()).isEqualTo(clock.instant());
            assertThat(metrics.scrape())
                    .contains("ray_federation_antray_errors_total{virtual_cluster=\"team-a\"} 3.0")
                    .contains("ray_federation_antray_in_error{virtual_cluster=\"team-a\"} 0")
                    .contains("ray_federation_antray_nodes{virtual_cluster=\"team-a\"} 1")
                    .contains("ray_federation_antray_pending_moves{virtual_cluster=\"team-a\"} 0");
        }

        @Test
        @DisplayName("An update ant-ray refuses is reported with ant-ray's words")
        void aRefusalIsReportedWithAntRaysWords() {
            dashboard.existing(A, true);

            sync.tick();

            assertThat(status().lastError()).startsWith("refused: Failed to create or update virtual cluster ant-a: "
                    + "The requested attributes are incompatible");
            assertThat(metrics.scrape()).contains("ray_federation_antray_errors_total{virtual_cluster=\"team-a\"} 1.0");
            assertThat(sync.status().get("team-b").lastError()).isNull();
        }
    }

    @Nested
    class ShrinkBeforeDelete {

        private final CountDownLatch deleted = new CountDownLatch(1);
        private final AtomicInteger heldWhenDeleted = new AtomicInteger(-1);

        private void startInStepWithTwoWorkers() {
            upToDate("n1");
            upToDate("n2");
            sync.start();
            await().atMost(10, TimeUnit.SECONDS).until(() -> dashboard.nodes(A).size() == 2);
        }

        private void terminate(String id) {
            sync.beforeDelete(terminating(id), () -> {
                heldWhenDeleted.set(dashboard.nodes(A).size());
                deleted.countDown();
            });
        }

        @Test
        @DisplayName("A terminated worker's pod is deleted only after its virtual cluster let one node go")
        void deletesAfterTheVirtualClusterShrank() throws InterruptedException {
            startInStepWithTwoWorkers();

            terminate("n1");

            assertThat(deleted.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(heldWhenDeleted.get()).isEqualTo(1);
            assertThat(askedForBatchA()).endsWith(2, 1);
        }

        @Test
        @DisplayName("A dashboard that does not answer delays the delete by shrinkWait, never longer")
        void anUnansweredShrinkDelaysTheDeleteByShrinkWait() throws InterruptedException {
            startInStepWithTwoWorkers();
            dashboard.goAway();

            terminate("n1");

            await().atMost(10, TimeUnit.SECONDS).until(() -> status().lastError() != null);
            assertThat(status().lastError()).startsWith("dashboard unreachable");
            assertThat(deleted.getCount()).as("not deleted before shrinkWait").isEqualTo(1);

            clock.advance(SHRINK_WAIT);

            assertThat(deleted.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(heldWhenDeleted.get()).as("deleted while still in the virtual cluster").isEqualTo(2);
        }

        @Test
        @DisplayName("When the virtual cluster's nodes are all busy, ant-ray lets none go and the delete waits shrinkWait")
        void busyNodesDelayTheDeleteByShrinkWait() throws InterruptedException {
            startInStepWithTwoWorkers();
            dashboard.markBusy("ray-n1");
            dashboard.markBusy("ray-n2");

            terminate("n1");

            await().atMost(10, TimeUnit.SECONDS).until(() -> status().lastError() != null);
            assertThat(status().lastError()).startsWith("waiting for idle nodes");
            assertThat(deleted.getCount()).isEqualTo(1);
            clock.advance(SHRINK_WAIT);

            assertThat(deleted.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(askedForBatchA()).as("never asked to let go of more than the one").doesNotContain(0);
        }
    }
}
