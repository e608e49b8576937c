package dev.rayfederation.sidecar.preflight;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.sidecar.config.CurrentConfig;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.VirtualCluster;
import dev.rayfederation.sidecar.placement.strategy.Strategies;
import dev.rayfederation.sidecar.provision.TestConfigs;
import dev.rayfederation.k8s.resources.ResourceVector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** When members are probed, what their results become, and what placement is told. */
class PreflightsTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    private final ManualClock clock = new ManualClock();
    private final ProbingMember m1 = new ProbingMember("m1");
    private final Map<String, MemberCluster> members = new LinkedHashMap<>(Map.of("m1", m1));
    /** What the sidecar's dial-back finds: null connects. */
    private final AtomicReference<String> dialFails = new AtomicReference<>();
    private CurrentConfig config;
    private Preflights preflights;

    @AfterEach
    void stop() {
        if (preflights != null) {
            preflights.stop();
        }
        m1.close();
    }

    private static FederationConfig config(String headAddress, boolean enforce, List<String> clusters) {
        return config(headAddress, enforce, clusters, Duration.ofSeconds(60));
    }

    private static FederationConfig config(String headAddress, boolean enforce, List<String> clusters,
                                           Duration firstVerdictWait) {
        FederationConfig c = TestConfigs.config(clusters.stream().map(n -> TestConfigs.cluster(n, "cloud-" + n, 0)).toList(),
                List.of(new VirtualCluster("vc", ResourceVector.EMPTY)),
                List.of(TestConfigs.pool("cpu", "vc", Map.of("CPU", "4"), 10, Strategies.PRIORITY, clusters)));
        return new FederationConfig(new FederationConfig.RayCluster("demo", headAddress), c.api(), c.management(),
                c.clusters(), c.virtualClusters(), c.pools(), c.timing(), c.resilience(), c.replacement(), c.antRay(),
                new FederationConfig.Preflight(true, enforce, Duration.ofMinutes(10), Duration.ofSeconds(30),
                        Duration.ofSeconds(5), 10002, null, firstVerdictWait));
    }

    private void start(FederationConfig c) {
        config = new CurrentConfig(c);
        preflights = new Preflights(config, members, (host, port, timeout) -> {
            if (dialFails.get() != null) {
                throw new ConnectException(dialFails.get());
            }
        }, clock);
    }

    private PreflightResult awaitResult(PreflightResult.State state) {
        await("m1 " + state).atMost(WAIT).until(() -> preflights.results().get("m1").state() == state
                && preflights.results().get("m1").lastRunAt() != null);
        return preflights.results().get("m1");
    }

    @Test
    @DisplayName("pending until the first probe has answered; with enforce the member is kept out for firstVerdictWait from that probe's start, then placed on while pending")
    void pendingFirst() {
        m1.neverRuns("ImagePullBackOff: pulling");
        start(config("10.0.0.12:6379", true, List.of("m1")));
        assertThat(preflights.excluded("m1")).as("not even seen yet: nothing to go by").isEmpty();
        preflights.tick();
        assertThat(preflights.results().get("m1").state()).isEqualTo(PreflightResult.State.PENDING);
        assertThat(preflights.results().get("m1").note()).isEqualTo("not probed yet");
        Instant started = clock.instant();
        assertThat(preflights.excluded("m1")).hasValueSatisfying(why -> assertThat(why)
                .isEqualTo("network preflight pending (first probe started at " + started + "); placed on once it "
                        + "passes, or from " + started.plusSeconds(60) + " without a verdict"));

        clock.advance(Duration.ofSeconds(59));
        assertThat(preflights.excluded("m1")).as("still within firstVerdictWait").isPresent();
        clock.advance(Duration.ofSeconds(1));
        assertThat(preflights.excluded("m1")).as("firstVerdictWait over: a slow image pull does not stall scaling")
                .isEmpty();
        assertThat(preflights.results().get("m1").state()).isEqualTo(PreflightResult.State.PENDING);
    }

    @Test
    @DisplayName("a first probe that passes lets the member take workers at once")
    void firstPassOpensTheMember() {
        m1.runsAndEnds(0, "ok: worker -> head 10.0.0.12:6379");
        start(config("10.0.0.12:6379", true, List.of("m1")));
        preflights.tick();
        assertThat(preflights.excluded("m1")).isPresent();
        awaitResult(PreflightResult.State.OK);
        assertThat(preflights.excluded("m1")).isEmpty();
    }

    @Test
    @DisplayName("firstVerdictWait 0, or no enforce: a member is placed on while its first verdict is pending")
    void noWaitForTheFirstVerdict() {
        m1.neverRuns("ImagePullBackOff: pulling");
        start(config("10.0.0.12:6379", true, List.of("m1"), Duration.ZERO));
        preflights.tick();
        assertThat(preflights.results().get("m1").state()).isEqualTo(PreflightResult.State.PENDING);
        assertThat(preflights.excluded("m1")).isEmpty();
        preflights.stop();

        start(config("10.0.0.12:6379", false, List.of("m1")));
        preflights.tick();
        assertThat(preflights.excluded("m1")).isEmpty();
    }

    @Test
    @DisplayName("a probe that cannot reach the head: failed worker -> head, the member is kept out (enforce) and its pod deleted")
    void workerToHeadFails() {
        m1.runsAndEnds(1, "worker -> head: cannot connect to 10.0.0.12:6379: Connection refused");
        start(config("10.0.0.12:6379", true, List.of("m1")));
        preflights.tick();
        PreflightResult r = awaitResult(PreflightResult.State.FAILED);
        assertThat(r.direction()).isEqualTo(PreflightResult.WORKER_TO_HEAD);
        assertThat(r.error()).isEqualTo("cannot connect to 10.0.0.12:6379: Connection refused");
        assertThat(preflights.excluded("m1")).hasValueSatisfying(why -> assertThat(why)
                .startsWith("failed network preflight at " + clock.instant()).contains("worker -> head: cannot connect"));
        assertThat(m1.created).singleElement().satisfies(s -> {
            assertThat(s.headAddress()).isEqualTo("10.0.0.12:6379");
            assertThat(s.podName()).startsWith("demo-preflight-");
        });
        await("probe pod deleted").atMost(WAIT).until(() -> m1.deleted.contains(m1.created.get(0).podName()));
    }

    @Test
    @DisplayName("without enforce a failed member is reported but not kept out")
    void notEnforced() {
        m1.runsAndEnds(1, "worker -> head: cannot connect to 10.0.0.12:6379: timed out");
        start(config("10.0.0.12:6379", false, List.of("m1")));
        preflights.tick();
        awaitResult(PreflightResult.State.FAILED);
        assertThat(preflights.excluded("m1")).isEmpty();
    }

    @Test
    @DisplayName("the sidecar cannot dial the probe back: failed head -> worker, naming the pod IP and port")
    void headToWorkerFails() {
        m1.runsAndEnds(0, "ok: worker -> head 10.0.0.12:6379");
        dialFails.set("Connection timed out");
        start(config("10.0.0.12:6379", true, List.of("m1")));
        preflights.tick();
        PreflightResult r = awaitResult(PreflightResult.State.FAILED);
        assertThat(r.direction()).isEqualTo(PreflightResult.HEAD_TO_WORKER);
        assertThat(r.error()).isEqualTo("cannot connect to 10.1.0.5:10002: Connection timed out");
    }

    @Test
    @DisplayName("a failed member is retried after retryInterval, and placed on again once it passes; a pass waits for interval")
    void retriedAfterFailure() {
        m1.runsAndEnds(1, "worker -> head: cannot connect to 10.0.0.12:6379: Connection refused");
        start(config("10.0.0.12:6379", true, List.of("m1")));
        preflights.tick();
        awaitResult(PreflightResult.State.FAILED);
        await().atMost(WAIT).until(() -> m1.deleted.size() == 1);
        preflights.tick();
        assertThat(m1.created).as("not retried before retryInterval").hasSize(1);

        m1.runsAndEnds(0, "ok: worker -> head 10.0.0.12:6379");
        clock.advance(Duration.ofSeconds(31));
        preflights.tick();
        awaitResult(PreflightResult.State.OK);
        assertThat(preflights.excluded("m1")).isEmpty();
        assertThat(m1.created).hasSize(2);
        await().atMost(WAIT).until(() -> m1.deleted.size() == 2);
        clock.advance(Duration.ofMinutes(9));
        preflights.tick();
        assertThat(m1.created).as("a pass holds for interval").hasSize(2);
        clock.advance(Duration.ofMinutes(2));
        preflights.tick();
        await().atMost(WAIT).until(() -> m1.created.size() == 3);
    }

    @Test
    @DisplayName("a probe pod that never runs gives no verdict: the member keeps its last result, with the reason noted")
    void neverRuns() {
        m1.neverRuns("ImagePullBackOff: Back-off pulling image");
        start(config("10.0.0.12:6379", true, List.of("m1")));
        preflights.tick();
        await().atMost(WAIT).until(() -> m1.created.size() == 1);
        clock.advance(Duration.ofSeconds(6)); // past the probe's timeout
        await("no verdict").atMost(WAIT).until(() -> preflights.results().get("m1").lastRunAt() != null);
        PreflightResult r = preflights.results().get("m1");
        assertThat(r.state()).isEqualTo(PreflightResult.State.PENDING);
        assertThat(r.note()).isEqualTo("the probe pod was not running after 5s: ImagePullBackOff: Back-off pulling image");
        assertThat(preflights.excluded("m1")).as("no verdict yet, within firstVerdictWait").isPresent();
        clock.advance(Duration.ofSeconds(54));
        assertThat(preflights.excluded("m1")).as("firstVerdictWait over").isEmpty();
        await().atMost(WAIT).until(() -> m1.deleted.size() == 1);
    }

    @Test
    @DisplayName("a reload that changes what the probe depends on makes the member pending and probes it again at once")
    void reprobedAfterAChange() {
        m1.runsAndEnds(1, "worker -> head: cannot connect to 10.0.0.12:6379: Connection refused");
        start(config("10.0.0.12:6379", true, List.of("m1")));
        preflights.tick();
        awaitResult(PreflightResult.State.FAILED);
        await().atMost(WAIT).until(() -> m1.deleted.size() == 1);

        m1.runsAndEnds(0, "ok: worker -> head 10.0.0.13:6379");
        config.replace(config("10.0.0.13:6379", true, List.of("m1")));
        preflights.tick();
        assertThat(preflights.results().get("m1").note()).isEqualTo("its settings changed");
        assertThat(preflights.excluded("m1")).as("a failure under the old settings no longer counts").isEmpty();
        awaitResult(PreflightResult.State.OK);
        assertThat(m1.created.get(1).headAddress()).isEqualTo("10.0.0.13:6379");
    }

    @Test
    @DisplayName("turned off, or the member removed: results forgotten, nothing kept out")
    void offAndRemoved() {
        m1.runsAndEnds(1, "worker -> head: cannot connect to 10.0.0.12:6379: Connection refused");
        start(config("10.0.0.12:6379", true, List.of("m1")));
        preflights.tick();
        awaitResult(PreflightResult.State.FAILED);
        FederationConfig off = config.get();
        config.replace(new FederationConfig(off.rayCluster(), off.api(), off.management(), off.clusters(),
                off.virtualClusters(), off.pools(), off.timing(), off.resilience(), off.replacement(), off.antRay(),
                FederationConfig.Preflight.off()));
        preflights.tick();
        assertThat(preflights.results()).isEmpty();
        assertThat(preflights.excluded("m1")).isEmpty();

        config.replace(config("10.0.0.12:6379", true, List.of("m1")));
        preflights.tick();
        assertThat(preflights.results()).containsKey("m1");
        config.replace(config("10.0.0.12:6379", true, List.of()));
        preflights.tick();
        assertThat(preflights.results()).isEmpty();
    }

    /** A clock that moves only when a test moves it. */
    static final class ManualClock extends Clock {
        private volatile Instant now = Instant.parse("2026-05-01T10:00:00Z");

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }
}
