package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sim.ListingWatch.Seen;
import dev.rayfederation.sim.OneWorkerLaunches.Launch;
import dev.rayfederation.sim.SidecarConfig.Pool;
import dev.rayfederation.sim.SidecarConfig.VirtualCluster;
import dev.rayfederation.sim.bench.LatencyProxy;
import dev.rayfederation.sim.bench.LatencyProxy.Outage;
import io.fabric8.kubernetes.api.model.Pod;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A member cut off by a network partition: its API server sits behind a {@link LatencyProxy} (no added latency)
 * that, at the outage, keeps every connection open and answers nothing (not a reset: calls hang, watches go
 * silent). Three equally free members, a pool spread over them, and workers asked for one per request as Ray's
 * autoscaler v2 does, with the sidecar's default resilience settings. The target for noticing a partition and
 * placing elsewhere is 5 s.
 */
@DisplayName("A member behind a network partition")
class PartitionE2ETest extends SidecarE2E {

    static final Duration TARGET = Duration.ofSeconds(5);
    static final String VICTIM = "m1";

    LatencyProxy proxy;

    @AfterEach
    void closeProxy() {
        if (proxy != null) {
            proxy.close();
        }
    }

    /** m1, m2, m3 with 64 CPU each; pool cpu (1 CPU, 2Gi) spread over them; m1 reached through the proxy. */
    void start() {
        SimulatedMembers members = SimulatedMembers.start(members(3, 2, 32), dir.resolve("members"));
        try {
            proxy = LatencyProxy.start(members.member(VICTIM).port(), Duration.ZERO);
            Path through = members.member(VICTIM).writeKubeconfig(dir.resolve("through-proxy"),
                    "http://127.0.0.1:" + proxy.port());
            SidecarConfig config = SidecarConfig.forMembers(members)
                    .withCluster(VICTIM, c -> c.withKubeconfig(through))
                    .withVirtualCluster(VirtualCluster.of("vc"))
                    .withPool(Pool.of("cpu", "vc", Map.of("CPU", 1, "memory", "2Gi")).withStrategy("spread"));
            federation = SimulatedFederation.start(members, config, dir);
        } catch (RuntimeException e) {
            members.close();
            throw e;
        }
    }

    /** Creates {@code n} workers one per request and waits until they are up-to-date; returns their ids. */
    List<String> preload(int n) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ids.addAll(created(create("cpu", 1, "pre-" + i)));
        }
        awaitUpToDate("cpu", n);
        return ids;
    }

    /** The first entry of the victim seen after {@code t0} that satisfies {@code what}. */
    static Optional<Seen> first(List<Seen> seen, Instant t0, Predicate<Seen> what) {
        return seen.stream().filter(s -> !s.at().isBefore(t0)).filter(what).findFirst();
    }

    /** The victim's nodes in the listing (all marked stale or not). */
    List<JsonNode> victimNodes() {
        return federation.nodes().stream().filter(n -> VICTIM.equals(n.path("cluster").asText())).toList();
    }

    /** Worker pods not being deleted, by node id, over every member (read from the members themselves). */
    Map<String, List<String>> podsByNodeId() {
        Map<String, List<String>> out = new HashMap<>();
        federation.workerPods(null).forEach((member, pods) -> {
            for (Pod p : pods) {
                if (p.getMetadata().getDeletionTimestamp() == null) {
                    out.computeIfAbsent(p.getMetadata().getLabels().get(SimulatedFederation.NODE_ID_LABEL),
                            k -> new ArrayList<>()).add(member);
                }
            }
        });
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Outage.class, names = {"BLACKHOLE", "ANSWERS_LOST"})
    @DisplayName("in the middle of a one-worker-per-request scale-up: it leaves healthy and its breaker opens within 5 s, "
            + "new workers land elsewhere within 5 s, its nodes show stale, nothing is lost or duplicated, and no pod "
            + "ever runs unlisted")
    void inTheMiddleOfAScaleUp(Outage outage) {
        start();
        List<String> before = preload(6);
        List<String> onVictim = victimNodes().stream().map(n -> n.path("id").asText()).toList();
        assertThat(onVictim).as("spread put some of the first workers on %s", VICTIM).isNotEmpty();

        try (ListingWatch watch = new ListingWatch(federation, VICTIM, Duration.ofMillis(250)).start();
             OneWorkerLaunches launches = new OneWorkerLaunches(api(), "cpu", "up", 2, 80, Duration.ofMillis(100)).start()) {
            await().atMost(DEADLINE).until(() -> launches.created() >= 6);
            Instant t0 = Instant.now();
            proxy.outage(outage);

            await("victim unreachable, its nodes stale").atMost(DEADLINE).untilAsserted(() -> {
                assertThat(first(watch.seen(), t0, s -> s.state().equals("unreachable"))).isPresent();
                assertThat(victimNodes()).as("nodes of %s", VICTIM).isNotEmpty()
                        .allSatisfy(n -> assertThat(n.path("stale").asBoolean()).as("stale of %s", n).isTrue());
            });
            Seen left = first(watch.seen(), t0, s -> !s.state().equals("healthy")).orElseThrow();
            Seen open = first(watch.seen(), t0, s -> s.breaker().equals("open")).orElseThrow();
            assertThat(Duration.between(t0, left.stateSince())).as("from the outage to %s leaving healthy (%s)", VICTIM, left)
                    .isLessThanOrEqualTo(TARGET);
            assertThat(Duration.between(t0, open.breakerSince())).as("from the outage to its breaker open (%s)", open)
                    .isLessThanOrEqualTo(TARGET);
            assertThat(watch.seen()).as("never healthy with its breaker open")
                    .noneMatch(s -> s.state().equals("healthy") && s.breaker().equals("open"));

            Instant cut = t0.plus(TARGET);
            await("launches sent after the cut").atMost(DEADLINE).until(() ->
                    launches.launches().stream().filter(l -> l.sent().isAfter(cut)).count() >= 10);
            launches.close();
            // every worker asked for since the outage is confirmed on another member within 5 s of being asked for
            List<Launch> after = launches.launches().stream().filter(l -> !l.sent().isBefore(t0)).toList();
            assertThat(after).allSatisfy(l -> {
                assertThat(landedElsewhere(l)).as("confirmed on a member other than %s: %s", VICTIM, l).isTrue();
                assertThat(Duration.between(l.sent(), l.answered())).as("answered: %s", l).isLessThanOrEqualTo(TARGET);
            });
            double slowest = after.stream().mapToDouble(l -> seconds(l.sent(), l.answered())).max().orElseThrow();

            System.out.printf("partition (%s): left healthy after %.2f s, breaker open after %.2f s; %d launches after "
                            + "the outage, all confirmed elsewhere, the slowest in %.2f s%n", outage,
                    seconds(t0, left.stateSince()), seconds(t0, open.breakerSince()), after.size(), slowest);
            proxy.outage(Outage.NONE);
            settled(before, launches.launches());
            assertThat(watch.rounds()).as("rounds of the listing watch; errors: %s", watch.errors()).isGreaterThan(20);
            assertThat(watch.unlisted()).as("pods that ran while the sidecar did not list them").isEmpty();
        }
    }

    static double seconds(Instant from, Instant to) {
        return Duration.between(from, to).toMillis() / 1000.0;
    }

    /** Its worker is confirmed on a member other than the victim (where the listing has it now). */
    boolean landedElsewhere(Launch l) {
        if (!l.confirmed()) {
            return false;
        }
        String id = l.created().get(0);
        return federation.nodes().stream().filter(n -> id.equals(n.path("id").asText()))
                .anyMatch(n -> !VICTIM.equals(n.path("cluster").asText()));
    }

    /**
     * After healing: every worker answered as created and confirmed is listed with exactly one pod, each worker
     * answered as pending is either listed with one pod (adopted) or gone with no pod anywhere (its create never
     * happened), and no pod is left that the listing lacks.
     */
    void settled(List<String> before, List<Launch> launches) {
        Set<String> confirmed = new HashSet<>(before);
        Set<String> pending = new HashSet<>();
        for (Launch l : launches) {
            confirmed.addAll(l.created());
            pending.addAll(l.pending());
        }
        confirmed.removeAll(pending);
        await("the federation settles after the partition heals").atMost(DEADLINE).untilAsserted(() -> {
            Map<String, List<String>> pods = podsByNodeId();
            Map<String, JsonNode> listed = new HashMap<>();
            federation.nodes().forEach(n -> listed.put(n.path("id").asText(), n));
            assertThat(listed.values()).allSatisfy(n -> {
                assertThat(n.path("stale").asBoolean()).as("stale: %s", n).isFalse();
                assertThat(n.path("status").asText()).as("status: %s", n).isEqualTo("up-to-date");
            });
            for (String id : confirmed) {
                assertThat(listed).as("lost: %s", id).containsKey(id);
                assertThat(pods.get(id)).as("pods of %s", id).hasSize(1);
            }
            for (String id : pending) {
                assertThat(pods.getOrDefault(id, List.of())).as("pods of pending %s", id).hasSize(listed.containsKey(id) ? 1 : 0);
            }
            assertThat(pods.keySet()).as("pods whose node is not listed").isSubsetOf(listed.keySet());
            assertThat(pods.values()).as("no worker with two pods").allSatisfy(p -> assertThat(p).hasSize(1));
        });
    }

    @Test
    @DisplayName("with no traffic at all: unreachable within 5 s from its liveness probe alone, its nodes stale; once "
            + "healed, healthy again and its breaker settles closed without traffic")
    void withNoTraffic() {
        start();
        preload(6);
        int onVictim = victimNodes().size();
        assertThat(onVictim).isPositive();

        try (ListingWatch watch = new ListingWatch(federation, VICTIM, Duration.ofMillis(250)).start()) {
            Instant t0 = Instant.now();
            proxy.outage(Outage.BLACKHOLE);

            await("victim unreachable").atMost(DEADLINE).until(() ->
                    first(watch.seen(), t0, s -> s.state().equals("unreachable")).isPresent());
            Seen unreachable = first(watch.seen(), t0, s -> s.state().equals("unreachable")).orElseThrow();
            assertThat(Duration.between(t0, unreachable.stateSince())).as("from the outage to unreachable (%s)", unreachable)
                    .isLessThanOrEqualTo(TARGET);
            assertThat(unreachable.stateReason()).contains("liveness probes in a row");
            System.out.printf("partition without traffic: unreachable after %.2f s%n", seconds(t0, unreachable.stateSince()));
            await().atMost(DEADLINE).untilAsserted(() -> {
                assertThat(victimNodes()).hasSize(onVictim).allSatisfy(n -> assertThat(n.path("stale").asBoolean()).isTrue());
                assertThat(federation.nodes()).filteredOn(n -> !VICTIM.equals(n.path("cluster").asText()))
                        .allSatisfy(n -> assertThat(n.path("stale").asBoolean()).isFalse());
            });
            assertThat(first(watch.seen(), t0, s -> s.breaker().equals("open")).orElseThrow().breakerReason())
                    .contains("liveness probes in a row");

            proxy.outage(Outage.NONE);

            await("healthy again with its breaker closed").atMost(DEADLINE).untilAsserted(() -> {
                Seen last = watch.seen().get(watch.seen().size() - 1);
                assertThat(last.state()).isEqualTo("healthy");
                assertThat(last.breaker()).isEqualTo("closed");
                assertThat(victimNodes()).hasSize(onVictim).allSatisfy(n -> assertThat(n.path("stale").asBoolean()).isFalse());
            });
            assertThat(watch.seen()).extracting(Seen::breaker).as("settled by the probe's trial calls")
                    .containsSubsequence("open", "half_open", "closed");
        }
    }

    @Test
    @DisplayName("flapping 10 s on, 10 s off for two minutes: held out after its first flaps, it stops receiving workers")
    void flappingForTwoMinutes() {
        start();
        preload(3);

        try (ListingWatch watch = new ListingWatch(federation, VICTIM, Duration.ofMillis(250)).start();
             OneWorkerLaunches launches = new OneWorkerLaunches(api(), "cpu", "flap", 1, 90, Duration.ofMillis(1000)).start()) {
            Instant t0 = Instant.now();
            Instant end = t0.plus(Duration.ofMinutes(2));
            boolean off = false;
            for (Instant next = t0; next.isBefore(end); next = next.plusSeconds(10)) {
                Instant flipAt = next;
                await().atMost(Duration.ofSeconds(15)).until(() -> !Instant.now().isBefore(flipAt));
                off = !off;
                proxy.outage(off ? Outage.BLACKHOLE : Outage.NONE);
            }
            proxy.outage(Outage.NONE);
            launches.close();

            Seen heldOut = first(watch.seen(), t0, s -> s.heldOutUntil() != null).orElseThrow(() ->
                    new AssertionError("never held out: " + watch.seen()));
            System.out.printf("flapping: held out %.2f s after the first outage, until %s; flaps seen: %s%n",
                    seconds(t0, heldOut.at()), heldOut.heldOutUntil(), watch.seen().stream().map(Seen::flaps).distinct().toList());
            assertThat(heldOut.flaps()).as("held out from its 2nd flap").isEqualTo(2);
            assertThat(heldOut.state()).isEqualTo("degraded");
            assertThat(heldOut.stateReason()).contains("flapping");
            assertThat(Duration.between(t0, heldOut.at())).as("held out after the first flaps").isLessThan(Duration.ofSeconds(45));
            Instant secondFlap = first(watch.seen(), t0, s -> s.flaps() >= 2).orElseThrow().stateSince();
            Map<String, String> landed = new HashMap<>();
            federation.workerPods("cpu").forEach((member, pods) -> pods.forEach(p ->
                    landed.put(p.getMetadata().getLabels().get(SimulatedFederation.NODE_ID_LABEL), member)));
            List<Launch> afterSecondFlap = launches.launches().stream().filter(l -> l.sent().isAfter(secondFlap)).toList();
            assertThat(afterSecondFlap).as("launches after the second flap").hasSizeGreaterThan(30)
                    .allSatisfy(l -> assertThat(l.created()).as("%s", l).hasSize(1)
                            .allSatisfy(id -> assertThat(landed.get(id)).as("member of %s", id).isNotEqualTo(VICTIM)));
            assertThat(first(watch.seen(), heldOut.at(), s -> s.flaps() >= 3)).as("it went on flapping").isPresent();
            assertThat(watch.unlisted()).as("pods that ran while the sidecar did not list them").isEmpty();
        }
    }
}
