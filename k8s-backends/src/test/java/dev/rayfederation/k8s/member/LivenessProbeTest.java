package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.resilience.BreakerRegistry;
import dev.rayfederation.k8s.resilience.BreakerStatus;
import dev.rayfederation.k8s.resilience.BreakerTransition;
import dev.rayfederation.k8s.resilience.ResilienceOptions;
import dev.rayfederation.k8s.resilience.ResilienceOptions.BreakerSettings;
import dev.rayfederation.k8s.resources.ResourceVector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.rayfederation.k8s.member.Fabric8MemberClusterTest.NS;
import static dev.rayfederation.k8s.member.Fabric8MemberClusterTest.join;
import static dev.rayfederation.k8s.member.Fabric8MemberClusterTest.worker;
import static dev.rayfederation.k8s.testing.KubeObjects.node;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A member behind a {@link Blackhole}: connections accepted, nothing answered, nothing reset. Its watches stay open
 * and silent, so only the liveness probe (GET /version every 1 s, 1.5 s to answer, 2 failures in a row: the
 * defaults) can tell. No other call is made while the member is silent.
 */
@DisplayName("The liveness probe of a member")
class LivenessProbeTest {

    static final Duration PATIENCE = Duration.ofSeconds(30);
    /** The default probe: two failures in a row, the first sent at most 1 s after the silence, 1.5 s each. */
    static final Duration EARLIEST = Duration.ofMillis(2_400);
    /** The acceptance target for noticing a partition. */
    static final Duration TARGET = Duration.ofSeconds(5);

    @TempDir
    Path dir;

    final List<AutoCloseable> cleanup = new ArrayList<>();
    final List<MemberState> states = new CopyOnWriteArrayList<>();
    /** States the member took while its breaker was open and that claimed it healthy: must stay empty. */
    final List<String> healthyWhileOpen = new CopyOnWriteArrayList<>();
    final List<BreakerTransition> transitions = new CopyOnWriteArrayList<>();
    Blackhole hole;
    MemberCluster member;

    /** The member first (it stops probing), then the proxy and the API server. */
    @AfterEach
    void closeEverything() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
    }

    /** Starts a mock API server, a blackhole in front of it and a member reaching it through the blackhole. */
    void start(ResilienceOptions resilience) throws Exception {
        MockMember server = MockMember.start("aws-use1", dir).withNamespace(NS)
                .withNodes(node("aws-1").cpu("64").memory("256Gi").build());
        cleanup.add(server);
        hole = Blackhole.inFrontOf(server.port());
        cleanup.add(hole);
        Path kubeconfig = MockMember.writeKubeconfig(dir.resolve("through-blackhole.kubeconfig"), "aws-use1", hole.port());
        MemberClusterOptions options = MemberClusterOptions.defaults("demo")
                .withStartTimeout(Duration.ofSeconds(10))
                .withRetryInterval(Duration.ofMillis(300))
                .withRequestRetries(0)
                .withUnreachableAfter(Duration.ofSeconds(30)) // the watch check alone would take minutes: the probe must tell
                .withResilience(resilience);
        member = MemberClusters.connect(new MemberClusterSpec("aws-use1", "aws", "us-east-1", null, kubeconfig, "aws-use1", NS,
                false, false, ResourceVector.EMPTY), options, new BreakerRegistry());
        cleanup.add(member);
        member.onStateChange(s -> {
            states.add(s);
            if (s == MemberState.HEALTHY && member.breaker().state() == BreakerStatus.State.OPEN) {
                healthyWhileOpen.add(member.stateReason() + " / " + member.breaker());
            }
        });
        member.onBreakerTransition(transitions::add);
        join(member.start());
        join(member.createWorker(worker("n-1", "aws-use1")));
        join(member.createWorker(worker("n-2", "aws-use1")));
        await().atMost(PATIENCE).until(() -> member.workerPods().size() == 2);
        assertThat(member.state()).isEqualTo(MemberState.HEALTHY);
    }

    /** Default settings, but a breaker that lets trial calls through after 2 s instead of 15 s. */
    static ResilienceOptions shortOpenState() {
        BreakerSettings d = BreakerSettings.defaults();
        return ResilienceOptions.defaults().withBreaker(new BreakerSettings(d.slidingWindowSize(), d.minimumCalls(),
                d.failureRateThreshold(), d.slowCallRateThreshold(), d.slowCallDuration(), Duration.ofSeconds(2), 3));
    }

    /** Silences the member and waits until it is unreachable; returns how long that took by the member's own clock. */
    Duration silenceUntilUnreachable() {
        Instant silent = Instant.now();
        hole.silence();
        await().atMost(PATIENCE).until(() -> member.state() == MemberState.UNREACHABLE);
        return Duration.between(silent, member.stateSince());
    }

    void healUntilPlaceable() {
        hole.heal();
        await().atMost(PATIENCE).until(() -> member.state().placeable());
    }

    @Test
    @DisplayName("makes a silent member unreachable within 2.5-3.5 s with no other traffic, opens its own breaker "
            + "with the probe's reason, and keeps its pods")
    void aSilentMemberIsUnreachableFromItsProbeAlone() throws Exception {
        start(ResilienceOptions.defaults());

        Duration noticed = silenceUntilUnreachable();

        assertThat(noticed).as("from the silence to unreachable").isBetween(EARLIEST, TARGET);
        assertThat(member.stateReason()).startsWith("no answer from the API server http://127.0.0.1:" + hole.port())
                .contains(" to 2 liveness probes in a row (GET /version, 1.5s each), last: ")
                .endsWith("; showing the last known pods");
        await().atMost(PATIENCE).until(() -> member.breaker().state() == BreakerStatus.State.OPEN);
        BreakerStatus breaker = member.breaker();
        assertThat(breaker.scope()).isEqualTo("member:aws-use1");
        assertThat(breaker.reason()).startsWith("no answer from the API server").contains("2 liveness probes in a row");
        assertThat(member.acceptsPlacements()).isFalse();
        assertThat(member.workerPods()).extracting(WorkerPod::nodeId).containsExactlyInAnyOrder("n-1", "n-2");
    }

    @Test
    @DisplayName("brings a member back once it answers; its half-open breaker closes on probes alone, with no other traffic")
    void aRecoveredMemberSettlesWithoutTraffic() throws Exception {
        start(shortOpenState());
        silenceUntilUnreachable();
        await().atMost(PATIENCE).until(() -> member.breaker().state() == BreakerStatus.State.OPEN);
        states.clear();

        hole.heal();

        await().atMost(PATIENCE).untilAsserted(() -> {
            assertThat(member.breaker().state()).isEqualTo(BreakerStatus.State.CLOSED);
            assertThat(member.state()).isEqualTo(MemberState.HEALTHY);
        });
        // its own breaker; probes cut off by the heal may also have counted against its cloud's, which settles alike
        List<BreakerTransition> own = transitions.stream().filter(t -> t.scope().equals("member:aws-use1")).toList();
        assertThat(own).extracting(BreakerTransition::to).containsExactly(BreakerStatus.State.OPEN,
                BreakerStatus.State.HALF_OPEN, BreakerStatus.State.CLOSED);
        assertThat(own.get(2).reason()).isEqualTo("3 trial calls succeeded");
        assertThat(states).as("answering again: degraded while its breaker is open, then healthy")
                .startsWith(MemberState.DEGRADED).endsWith(MemberState.HEALTHY).doesNotContain(MemberState.UNREACHABLE);
        assertThat(healthyWhileOpen).isEmpty();
        assertThat(member.workerPods()).hasSize(2);
        assertThat(member.heldOutUntil()).as("one outage is not flapping").isNull();
        assertThat(member.flaps()).isEqualTo(1);
    }

    @Test
    @DisplayName("holds a flapping member out of placement from its 2nd flap, for 30 s doubling with every flap, "
            + "and says so in its state")
    void aFlappingMemberIsHeldOut() throws Exception {
        start(shortOpenState());

        silenceUntilUnreachable();
        healUntilPlaceable();
        assertThat(member.heldOutUntil()).as("after the first flap").isNull();

        silenceUntilUnreachable();
        Instant back = Instant.now();
        healUntilPlaceable();
        Instant until = member.heldOutUntil();
        assertThat(until).as("held out after the 2nd flap").isNotNull();
        assertThat(Duration.between(back, until)).isBetween(Duration.ofSeconds(30), Duration.ofSeconds(30).plus(PATIENCE));
        assertThat(member.flaps()).isEqualTo(2);
        assertThat(member.state()).isEqualTo(MemberState.DEGRADED);
        assertThat(member.stateReason()).startsWith("held out until " + until + ": it became unreachable 2 times recently (flapping)");
        assertThat(member.acceptsPlacements()).isFalse();

        silenceUntilUnreachable();
        back = Instant.now();
        healUntilPlaceable();
        until = member.heldOutUntil();
        assertThat(Duration.between(back, until)).as("doubled at the 3rd flap")
                .isBetween(Duration.ofSeconds(60), Duration.ofSeconds(60).plus(PATIENCE));
        assertThat(member.flaps()).isEqualTo(3);
        assertThat(member.acceptsPlacements()).isFalse();
    }
}
