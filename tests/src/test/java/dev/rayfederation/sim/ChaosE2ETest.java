package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sim.SidecarConfig.Pool;
import dev.rayfederation.sim.SidecarConfig.VirtualCluster;
import dev.rayfederation.sim.Timeline.Kind;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.AfterTestExecutionCallback;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Resilience end to end: member clouds that fail, fill up, stall or preempt, and a sidecar that is
 * killed or restarted in the middle of it, with the sidecar jar as a process and members as mock API servers.
 * Faults are real: a member's API server stopped and started again on the same port, its kubelet stalled, its pods
 * deleted by another client, the sidecar killed with SIGKILL. Every test ends by counting worker pods by node id
 * across members against GET /v1/nodes ({@link WorkerCensus}).
 */
class ChaosE2ETest {

    /**
     * What every scenario shares: a {@link Timeline} of what the test did and saw, printed with the sidecar's log
     * tail when the test fails (while the temp dir still exists); the whole log is kept under target/chaos-logs.
     */
    abstract static class Scenario extends SidecarE2E {

        final Timeline timeline = Timeline.silent();
        private ClusterWatch watch;

        /** Starts writing what GET /v1/clusters and GET /v1/nodes show to the timeline (for failure reports). */
        ClusterWatch watch() {
            if (watch == null) {
                watch = ClusterWatch.start(api(), timeline);
            }
            return watch;
        }

        @AfterEach
        void stopWatching() {
            if (watch != null) {
                watch.close();
            }
        }

        @RegisterExtension
        final AfterTestExecutionCallback keepEvidence = context -> {
            if (context.getExecutionException().isEmpty() || federation == null) {
                return;
            }
            Path log = federation.sidecar().logFile();
            System.out.println("---- timeline of " + context.getDisplayName() + " ----\n" + timeline.render());
            System.out.println("---- sidecar log tail (" + log + ") ----\n" + federation.sidecar().logTail(120));
            try {
                Path kept = Path.of("target", "chaos-logs", context.getRequiredTestClass().getSimpleName() + "-"
                        + context.getRequiredTestMethod().getName() + ".log");
                Files.createDirectories(kept.getParent());
                Files.copy(log, kept, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                System.out.println("---- whole sidecar log kept in " + kept.toAbsolutePath() + " ----");
            } catch (IOException e) {
                System.out.println("---- cannot keep the sidecar log: " + e + " ----");
            }
        };
    }

    /** Short resilience settings so faults show within seconds; back-offs long enough to last a test. */
    static SidecarConfig resilient(SidecarConfig c, String startTimeout) {
        return resilient(c, startTimeout, Map.of());
    }

    /** The same, with more {@code resilience} keys (e.g. {@code rateLimit}). */
    static SidecarConfig resilient(SidecarConfig c, String startTimeout, Map<String, Object> moreResilience) {
        Map<String, Object> replacement = new LinkedHashMap<>();
        replacement.put("unschedulableGrace", "2s");
        replacement.put("startTimeout", startTimeout);
        replacement.put("elasticStartTimeout", "10m");
        replacement.put("creatingTimeout", "2m");
        replacement.put("backoffInitial", "60s");
        replacement.put("backoffMax", "120s");
        replacement.put("checkInterval", "500ms");
        Map<String, Object> breaker = new LinkedHashMap<>();
        breaker.put("slidingWindowSize", 10);
        breaker.put("minimumCalls", 3);
        breaker.put("failureRateThreshold", 50);
        breaker.put("waitInOpenState", "2s");
        breaker.put("halfOpenCalls", 2);
        Map<String, Object> resilience = new LinkedHashMap<>();
        resilience.put("breaker", breaker);
        resilience.put("retries", Map.of("maxAttempts", 2, "initialBackoff", "100ms", "maxBackoff", "500ms"));
        // a burst of creates waits for a call slot instead of being refused (the bulkhead is not under test here)
        resilience.put("bulkhead", Map.of("maxConcurrentCalls", 16, "maxWait", "30s"));
        resilience.putAll(moreResilience);
        return c.with("timing", Map.of("memberStartTimeout", "10s", "memberRetryInterval", "1s"))
                .with("replacement", replacement)
                .with("resilience", resilience);
    }

    /** m1 (aws) before m2 (gcp) for strategy priority. */
    static SidecarConfig m1First(SidecarConfig c) {
        return c.withCluster("m1", m -> m.withPriority(10)).withCluster("m2", m -> m.withPriority(1));
    }

    /** Awaits a census with no problem for exactly {@code expected} workers of the pool and returns it. */
    static WorkerCensus awaitFinalState(SimulatedFederation federation, String pool, int expected) {
        return awaitFinalState(federation, pool, expected, null);
    }

    /**
     * The same, and every node must be one that a create answer returned ({@code launched}, null: not checked):
     * Ray never sees a worker it did not launch.
     */
    static WorkerCensus awaitFinalState(SimulatedFederation federation, String pool, int expected,
                                        java.util.function.Supplier<Set<String>> launched) {
        WorkerCensus[] last = new WorkerCensus[1];
        await("exactly %d %s workers: one pod per node id, all in GET /v1/nodes, up-to-date".formatted(expected, pool))
                .atMost(SidecarE2E.DEADLINE).pollInterval(Duration.ofMillis(500))
                .untilAsserted(() -> {
                    last[0] = WorkerCensus.take(federation.members(), federation.api(), pool);
                    List<String> problems = new ArrayList<>(last[0].problems(expected));
                    if (launched != null) {
                        Set<String> unknown = new TreeSet<>(last[0].nodes().keySet());
                        unknown.removeAll(launched.get());
                        if (!unknown.isEmpty()) {
                            problems.add("nodes no create answer returned (Ray never launched them): " + unknown);
                        }
                    }
                    assertThat(problems).as(last[0].summary()).isEmpty();
                });
        return last[0];
    }

    /** id → cluster of the pool's nodes in GET /v1/nodes. */
    static Map<String, String> clustersOf(SimulatedFederation federation, String pool) {
        Map<String, String> out = new TreeMap<>();
        federation.nodes().stream().filter(n -> pool.equals(n.path("pool").asText()))
                .forEach(n -> out.put(n.path("id").asText(), n.path("cluster").asText()));
        return out;
    }

    /** The member's entry of GET /v1/clusters. */
    static JsonNode clusterEntry(SimulatedFederation federation, String member) {
        for (JsonNode c : federation.api().clusters().body().path("clusters")) {
            if (member.equals(c.path("name").asText())) {
                return c;
            }
        }
        throw new AssertionError("no member " + member + " in GET /v1/clusters");
    }

    /** The back-off of (member, pool) listed in GET /v1/clusters, or null. */
    static JsonNode backoff(SimulatedFederation federation, String member, String pool) {
        for (JsonNode b : clusterEntry(federation, member).path("backoffs")) {
            if (pool.equals(b.path("pool").asText())) {
                return b;
            }
        }
        return null;
    }

    /** The value of one sample of the sidecar's /metrics (0 when absent), labels matched exactly. */
    static double metric(SidecarProcess sidecar, String name, Map<String, String> labels) throws Exception {
        return sidecar.metric(name, labels);
    }

    @Nested
    @DisplayName("A cloud fails halfway through a scale-up of 200 workers")
    class CloudFailsDuringScaleUp extends Scenario {

        @Test
        @DisplayName("ends with exactly 200 worker pods, none duplicated and none orphaned")
        void endsWithExactlyTheRequestedWorkers() {
            // room for all 200 on either member alone (2 nodes x 110 pods); 25 API calls per second per member, so
            // that the scale-up takes seconds and the outage surely lands in its middle
            start(members(2, 2, 128), c -> resilient(c, "5m",
                    Map.of("rateLimit", Map.of("requestsPerSecond", 25, "maxWait", "60s")))
                    .withVirtualCluster(VirtualCluster.of("vc"))
                    .withPool(Pool.of("cpu", "vc", Map.of("CPU", 1, "memory", "1Gi")).withMaxWorkers(400)));
            SimulatedMember m2 = federation.member("m2");
            watch();
            try (ScaleUpDriver driver = new ScaleUpDriver(api(), "cpu", "cpu", "scale", 20, timeline)) {
                driver.keepAt(200);
                await("half of the 200 worker pods created").atMost(DEADLINE)
                        .until(() -> federation.members().workerPodCount() >= 100);

                m2.stop();
                timeline.add(Kind.FAULT, "m2", "API server stopped");
                int podsAtStop = federation.member("m1").workerPods().size();
                await("200 workers in GET /v1/nodes while m2 is down, m2's shown stale").atMost(DEADLINE)
                        .pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                            List<JsonNode> nodes = nodesOf("cpu");
                            assertThat(nodes).as("nodes of pool cpu").hasSize(200);
                            assertThat(nodes).filteredOn(n -> "m2".equals(n.path("cluster").asText()))
                                    .as("m2's nodes").isNotEmpty()
                                    .allSatisfy(n -> assertThat(n.path("stale").asBoolean()).as("stale of %s", n).isTrue());
                        });

                m2.start();
                timeline.add(Kind.FAULT, "m2", "API server back");
                WorkerCensus settled = awaitFinalState(federation, "cpu", 200, driver::createdIds);
                assertThat(settled.podsByMember().get("m2")).as("m2 kept its workers through the outage: " + settled.summary())
                        .isPositive();
                assertThat(settled.podsByMember().get("m1")).as("m1 got the launches made during the outage: "
                        + settled.summary()).isGreaterThan(podsAtStop).isGreaterThan(settled.podsByMember().get("m2"));
                assertThat(driver.failure()).as("scale-up driver failure; timeline:\n" + timeline.render()).isNull();
            }
            WorkerCensus after = WorkerCensus.take(federation.members(), api(), "cpu");
            assertThat(after.problems(200)).as("once the driver stopped: " + after.summary()).isEmpty();
        }
    }

    @Nested
    @DisplayName("A member whose pods stay Pending forever")
    class PendingForever extends Scenario {

        @Test
        @DisplayName("has its workers moved to another member under the same ids, and backs off")
        void movesWorkersUnderTheSameIdsAndBacksOff() throws Exception {
            // one API call per second per member: moved workers show "pending: re-placing" for a second or more
            start(members(2, 2, 16), c -> m1First(resilient(c, "3s",
                    Map.of("rateLimit", Map.of("requestsPerSecond", 1, "maxWait", "60s"))))
                    .withVirtualCluster(VirtualCluster.of("vc"))
                    .withPool(Pool.of("cpu", "vc", Map.of("CPU", 2, "memory", "4Gi")).withStrategy("priority")));
            federation.members().kubelet().stall("m1", true);
            watch();

            List<String> ids = created(create("cpu", 4, "into-the-stall"));
            assertThat(ids).hasSize(4);

            await("the 4 workers up-to-date on m2 under their ids").atMost(DEADLINE).untilAsserted(() -> {
                assertThat(nodesOf("cpu")).extracting(n -> n.path("id").asText()).containsExactlyInAnyOrderElementsOf(ids);
                assertThat(nodesOf("cpu")).allSatisfy(n -> {
                    assertThat(n.path("cluster").asText()).as("cluster of %s", n).isEqualTo("m2");
                    assertThat(n.path("status").asText()).as("status of %s", n).isEqualTo("up-to-date");
                });
            });
            // placed first on m1 (priority 10), then moved: GET /v1/nodes showed each id on m1, then on m2
            await("each move seen by the watch of GET /v1/nodes").atMost(DEADLINE).untilAsserted(() ->
                    assertThat(ids).as("moves seen; timeline:\n" + timeline.render()).allSatisfy(id ->
                            assertThat(timeline.events(Kind.REPLACED, "node " + id)).extracting(Timeline.Event::text)
                                    .singleElement().asString().startsWith("m1 -> m2")));
            // all time out together (same placement time); m2 takes one create per second, so some wait a while
            assertThat(ids).as("statuses seen while they moved; timeline:\n" + timeline.render())
                    .anySatisfy(id -> assertThat(watch().statuses(id)).contains("pending: re-placing"));
            WorkerCensus census = awaitFinalState(federation, "cpu", 4);
            assertThat(census.pods().get("m2")).as("node ids of m2's pods").containsExactlyInAnyOrderElementsOf(ids);
            assertThat(census.pods().get("m1")).as("m1's stuck pods are deleted").isEmpty();

            JsonNode off = backoff(federation, "m1", "cpu");
            assertThat(off).as("back-off of (m1, cpu) in GET /v1/clusters: %s", clusterEntry(federation, "m1")).isNotNull();
            assertThat(off.path("failures").asInt()).as("failures in %s", off).isEqualTo(4);
            assertThat(off.path("pauseSeconds").asLong()).as("pauseSeconds in %s", off).isGreaterThanOrEqualTo(60);
            assertThat(off.path("reason").asText()).as("reason in %s", off).contains("not running");
            assertThat(backoff(federation, "m2", "cpu")).as("m2 does not back off").isNull();
            assertThat(metric(federation.sidecar(), "ray_federation_replacements_total", Map.of("pool", "cpu", "member", "m1")))
                    .as("ray_federation_replacements_total{pool=cpu,member=m1}").isEqualTo(4.0);

            // while (m1, cpu) backs off, placement skips m1 although it has the higher priority and room
            List<String> more = created(create("cpu", 2, "during-the-backoff"));
            assertThat(more).hasSize(2);
            Map<String, String> placed = clustersOf(federation, "cpu");
            assertThat(more).allSatisfy(id -> assertThat(placed.get(id)).as("cluster of new node %s", id).isEqualTo("m2"));
            awaitFinalState(federation, "cpu", 6);
        }
    }

    @Nested
    @DisplayName("A member whose static capacity promises room its nodes do not have")
    class UnschedulableOnAStaticMember extends Scenario {

        @Test
        @DisplayName("has its Unschedulable workers moved to another member under the same ids, and backs off")
        void movesUnschedulableWorkers() {
            // m1 declares 64 CPU (capacity: static) but its nodes have 16 each: a 24-CPU worker never schedules there
            List<MemberSpec> specs = List.of(
                    MemberSpec.of("m1", "aws", "us-east-1", null).withNodes(2, "n", n -> NodeSpec.of(n, 16, "64Gi")),
                    MemberSpec.of("m2", "gcp", "us-central1", null).withNodes(2, "n", n -> NodeSpec.of(n, 32, "128Gi")));
            start(specs, c -> m1First(resilient(c, "5m"))
                    .withCluster("m1", m -> m.with("capacity", "static").with("staticCapacity", Map.of("CPU", 64, "memory", "256Gi")))
                    .withVirtualCluster(VirtualCluster.of("vc"))
                    .withPool(Pool.of("big", "vc", Map.of("CPU", 24, "memory", "16Gi")).withStrategy("priority")));
            watch();

            List<String> ids = created(create("big", 2, "too-big-for-m1-nodes"));
            assertThat(ids).hasSize(2);

            WorkerCensus census = awaitFinalState(federation, "big", 2);
            assertThat(census.pods().get("m2")).as("node ids of m2's pods").containsExactlyInAnyOrderElementsOf(ids);
            assertThat(census.pods().get("m1")).as("m1's Unschedulable pods are deleted").isEmpty();
            await("each move seen by the watch of GET /v1/nodes").atMost(DEADLINE).untilAsserted(() ->
                    assertThat(ids).as("moves seen; timeline:\n" + timeline.render()).allSatisfy(id ->
                            assertThat(timeline.events(Kind.REPLACED, "node " + id)).extracting(Timeline.Event::text)
                                    .singleElement().asString().startsWith("m1 -> m2")));
            assertThat(ids).as("statuses seen on m1").allSatisfy(id ->
                    assertThat(watch().statuses(id)).contains("pending: unschedulable"));
            JsonNode off = backoff(federation, "m1", "big");
            assertThat(off).as("back-off of (m1, big) in GET /v1/clusters: %s", clusterEntry(federation, "m1")).isNotNull();
            assertThat(off.path("reason").asText()).as("reason in %s", off).startsWith("unschedulable");
        }
    }

    @Nested
    @DisplayName("A preemption storm: 30% of a member's worker pods deleted at once")
    class PreemptionStorm extends Scenario {

        @Test
        @DisplayName("drops the lost workers from the snapshot and places replacements elsewhere while the member backs off")
        void dropsLostWorkersAndAvoidsTheMember() throws Exception {
            start(members(2, 2, 16), c -> m1First(resilient(c, "5m"))
                    .withVirtualCluster(VirtualCluster.of("vc"))
                    .withPool(Pool.of("cpu", "vc", Map.of("CPU", 1, "memory", "2Gi")).withStrategy("priority")));
            watch();
            assertThat(created(create("cpu", 20, "before-the-storm"))).hasSize(20);
            awaitUpToDate("cpu", 20);
            assertThat(federation.workerPodCounts("cpu")).as("all on m1 (priority 10, room for 32)")
                    .isEqualTo(Map.of("m1", 20, "m2", 0));

            List<Pod> pods = federation.member("m1").workerPods();
            List<Pod> victims = pods.subList(0, 6);
            Set<String> victimIds = new TreeSet<>();
            victims.forEach(p -> victimIds.add(p.getMetadata().getLabels().get(SimulatedFederation.NODE_ID_LABEL)));
            try (KubernetesClient preemptor = federation.member("m1").newClient()) {
                preemptor.resourceList(new ArrayList<>(victims)).inNamespace(federation.member("m1").namespace()).delete();
            }

            await("the 6 preempted workers gone from GET /v1/nodes").atMost(DEADLINE).untilAsserted(() ->
                    assertThat(clustersOf(federation, "cpu")).as("nodes of pool cpu").hasSize(14)
                            .doesNotContainKeys(victimIds.toArray(String[]::new)));
            JsonNode off = backoff(federation, "m1", "cpu");
            assertThat(off).as("back-off of (m1, cpu) in GET /v1/clusters: %s", clusterEntry(federation, "m1")).isNotNull();
            assertThat(off.path("reason").asText()).as("reason in %s", off).contains("deleted");
            assertThat(metric(federation.sidecar(), "ray_federation_worker_losses_total", Map.of("member", "m1", "reason", "deleted")))
                    .as("ray_federation_worker_losses_total{member=m1,reason=deleted}").isEqualTo(6.0);

            // Ray asks for replacements: they avoid m1 while it backs off, although it has the priority and the room
            List<String> replacements = created(create("cpu", 6, "replacements"));
            assertThat(replacements).hasSize(6);
            Map<String, String> placed = clustersOf(federation, "cpu");
            assertThat(replacements).allSatisfy(id -> assertThat(placed.get(id)).as("cluster of replacement %s", id)
                    .isEqualTo("m2"));
            WorkerCensus census = awaitFinalState(federation, "cpu", 20);
            assertThat(census.podsByMember()).isEqualTo(Map.of("m1", 14, "m2", 6));
            assertThat(census.nodes()).doesNotContainKeys(victimIds.toArray(String[]::new));
        }
    }

    @Nested
    @DisplayName("The sidecar killed with SIGKILL in the middle of a scale-up")
    class KilledMidScaleUp extends Scenario {

        @Test
        @DisplayName("ends, once restarted, with exactly the workers requested: no duplicates, no orphans")
        void endsWithWhatWasRequested() {
            // 3 calls per second per member: 40 pods take several seconds to create, so the kill lands mid-request
            start(members(2, 2, 16), c -> resilient(c, "5m",
                    Map.of("rateLimit", Map.of("requestsPerSecond", 3, "maxWait", "60s")))
                    .withVirtualCluster(VirtualCluster.of("vc"))
                    .withPool(Pool.of("cpu", "vc", Map.of("CPU", 1, "memory", "1Gi"))));
            watch();
            try (ScaleUpDriver driver = new ScaleUpDriver(api(), "cpu", "cpu", "kill", 40, timeline)) {
                driver.keepAt(40);
                await("some of the 40 pods created").atMost(DEADLINE)
                        .until(() -> federation.members().workerPodCount() >= 6);
                federation.sidecar().kill();
                timeline.add(Kind.SIDECAR, "", "killed (SIGKILL)");
                int podsAtKill = federation.members().workerPodCount();

                federation.sidecar().start();
                timeline.add(Kind.SIDECAR, "", "started again");
                awaitFinalState(federation, "cpu", 40, driver::createdIds);

                assertThat(podsAtKill).as("pods when the sidecar was killed").isLessThan(40);
                List<ScaleUpDriver.Round> rounds = driver.rounds();
                assertThat(rounds).as("answers; timeline:\n" + timeline.render()).isNotEmpty();
                assertThat(rounds.get(0).requestId()).as("first answer; timeline:\n" + timeline.render()).isEqualTo("kill-1");
                assertThat(rounds.get(0).replay()).as("the first answer is the restarted sidecar's replay of kill-1")
                        .isTrue();
            }
            WorkerCensus after = WorkerCensus.take(federation.members(), api(), "cpu");
            assertThat(after.problems(40)).as("once the driver stopped: " + after.summary()).isEmpty();
        }
    }

    @Nested
    @DisplayName("A sidecar restart while a member cannot be reached")
    class RestartDuringOutage extends Scenario {

        private Path stateFile;
        private List<String> m1Ids;
        private List<String> m2Ids;
        private String terminated;

        private void twoMembersWithWorkersThenOutageAndTermination() {
            stateFile = dir.resolve("state").resolve("sidecar-state.json");
            UnaryOperator<SidecarConfig> configure = c -> resilient(c, "5m")
                    .withVirtualCluster(VirtualCluster.of("vc"))
                    .withPool(Pool.of("cpu", "vc", Map.of("CPU", 2, "memory", "4Gi")));
            federation = SimulatedFederation.start(members(2, 2, 16), dir, configure, SimulatedKubelet.Options.defaults(),
                    SidecarProcess.Options.defaults().withArgs("--state-file", stateFile.toString()));
            watch();
            create("cpu", 6, "before-the-outage");
            awaitUpToDate("cpu", 6);
            Map<String, String> placed = clustersOf(federation, "cpu");
            m1Ids = placed.entrySet().stream().filter(e -> e.getValue().equals("m1")).map(Map.Entry::getKey).toList();
            m2Ids = placed.entrySet().stream().filter(e -> e.getValue().equals("m2")).map(Map.Entry::getKey).toList();
            assertThat(m2Ids).as("workers on m2 (spread)").hasSizeGreaterThanOrEqualTo(2);

            federation.member("m2").stop();
            awaitStale(m2Ids, m1Ids);
            terminated = m2Ids.get(0);
            SidecarApi.Response r = api().terminate(List.of(terminated));
            assertThat(r.status()).as("%s", r).isEqualTo(200);
            assertThat(r.body().path("terminating")).as("terminating in %s", r).extracting(JsonNode::asText)
                    .containsExactly(terminated);
            assertThat(clustersOf(federation, "cpu")).as("GET /v1/nodes after terminating " + terminated)
                    .doesNotContainKey(terminated).hasSize(5);
        }

        /** Waits until every node of {@code staleIds} is shown stale and every node of {@code freshIds} is not. */
        private void awaitStale(List<String> staleIds, List<String> freshIds) {
            await("m2's nodes shown stale, m1's not").atMost(DEADLINE).untilAsserted(() -> {
                Map<String, Boolean> stale = new TreeMap<>();
                nodesOf("cpu").forEach(n -> stale.put(n.path("id").asText(), n.path("stale").asBoolean()));
                assertThat(stale).as("id -> stale").containsKeys(staleIds.toArray(String[]::new))
                        .containsKeys(freshIds.toArray(String[]::new));
                staleIds.forEach(id -> assertThat(stale.get(id)).as("stale of %s", id).isTrue());
                freshIds.forEach(id -> assertThat(stale.get(id)).as("stale of %s", id).isFalse());
            });
        }

        private void assertKeptThenReconciled() {
            List<String> m2Left = m2Ids.stream().filter(id -> !id.equals(terminated)).toList();
            // the first answer after /readyz: m2's last known nodes, stale; the terminated one stays gone
            Map<String, Boolean> stale = new TreeMap<>();
            nodesOf("cpu").forEach(n -> stale.put(n.path("id").asText(), n.path("stale").asBoolean()));
            Map<String, Boolean> expected = new TreeMap<>();
            m1Ids.forEach(id -> expected.put(id, false));
            m2Left.forEach(id -> expected.put(id, true));
            assertThat(stale).as("id -> stale in GET /v1/nodes right after the restart").isEqualTo(expected);
            assertThat(clusterEntry(federation, "m2").path("state").asText()).as("state of m2").isEqualTo("unreachable");

            federation.member("m2").start();

            WorkerCensus census = awaitFinalState(federation, "cpu", 5);
            assertThat(census.pods().get("m2")).as("m2's pods: the terminated one deleted, the others kept")
                    .containsExactlyInAnyOrderElementsOf(m2Left);
            assertThat(census.pods().get("m1")).as("m1's pods").containsExactlyInAnyOrderElementsOf(m1Ids);
        }

        @Test
        @DisplayName("after stop and start it keeps the member's nodes (stale) and its pending terminations")
        void gracefulRestartKeepsStaleNodesAndPendingTerminations() {
            twoMembersWithWorkersThenOutageAndTermination();

            federation.sidecar().stop();
            federation.sidecar().start();

            assertKeptThenReconciled();
        }

        @Test
        @DisplayName("after kill -9 and start it keeps the member's nodes (stale) and its pending terminations")
        void killKeepsStaleNodesAndPendingTerminations() {
            twoMembersWithWorkersThenOutageAndTermination();
            await("the state file records the termination of " + terminated).atMost(DEADLINE)
                    .until(() -> stateFileSays(terminated, "TERMINATING"));

            federation.sidecar().kill();
            federation.sidecar().start();

            assertKeptThenReconciled();
        }

        /** True when the state file lists node {@code id} in {@code phase}. */
        private boolean stateFileSays(String id, String phase) throws IOException {
            if (!Files.exists(stateFile)) {
                return false;
            }
            JsonNode state;
            try {
                state = SidecarApi.JSON.readTree(stateFile.toFile());
            } catch (IOException e) {
                return false; // being replaced
            }
            for (JsonNode n : state.path("nodes")) {
                if (id.equals(n.path("id").asText()) && phase.equals(n.path("phase").asText())) {
                    return true;
                }
            }
            return false;
        }
    }
}
