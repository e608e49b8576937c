package dev.rayfederation.sidecar.placement;

import dev.rayfederation.k8s.member.InMemoryMemberCluster;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.member.WorkerPod;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.VirtualCluster;
import dev.rayfederation.sidecar.federation.Federation;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.placement.strategy.PlacementStrategy;
import dev.rayfederation.sidecar.placement.strategy.Strategies;
import dev.rayfederation.sidecar.provision.CreateOutcome;
import dev.rayfederation.sidecar.provision.CreateRequest;
import dev.rayfederation.sidecar.provision.TestConfigs;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Each strategy with the requests autoscaler v2 sends: one worker at a time. Placement must see every member's
 * true room for the pool's shape, not room capped by the request, or every member looks alike.
 */
@DisplayName("Strategies with one-worker requests (autoscaler v2)")
class StrategiesTest {

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final List<InMemoryMemberCluster> members = new ArrayList<>();
    private Federation federation;

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    /** Members "a", "b", "c"... with one node each of the given CPUs; pool "cpu" of 4 CPU workers. */
    private void start(PlacementStrategy strategy, int... cpusPerMember) {
        List<FederationConfig.Cluster> clusters = new ArrayList<>();
        Map<String, MemberCluster> byName = new LinkedHashMap<>();
        for (int i = 0; i < cpusPerMember.length; i++) {
            String name = String.valueOf((char) ('a' + i));
            InMemoryMemberCluster m = InMemoryMemberCluster.builder(name, "cloud-" + name, 1,
                    ResourceVector.ofQuantities(Map.of("CPU", String.valueOf(cpusPerMember[i])))).build();
            members.add(m);
            byName.put(name, m);
            clusters.add(TestConfigs.cluster(name, "cloud-" + name, 0));
        }
        FederationConfig config = TestConfigs.config(clusters, List.of(new VirtualCluster("vc", ResourceVector.EMPTY)),
                List.of(TestConfigs.pool("cpu", "vc", Map.of("CPU", "4"), 100, strategy, List.copyOf(byName.keySet()))));
        NodeRegistry registry = new NodeRegistry();
        federation = new Federation(config, byName, registry, scheduler,
                new FederationMetrics().observe(config, registry, byName));
        federation.start();
    }

    /** {@code n} requests of one worker each, one after the other; the member each landed on. */
    private List<String> oneAtATime(int n) {
        List<String> landed = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            CreateOutcome out = federation.create(new CreateRequest("cpu", 1, UUID.randomUUID().toString(), Map.of(),
                    Map.of(), Map.of(), Map.of(), UUID.randomUUID().toString())).toCompletableFuture().join();
            assertThat(out.created()).as("request %d: %s", i, out.rejected()).hasSize(1);
            landed.add(federation.snapshot().nodes().stream().filter(x -> x.id().equals(out.created().get(0)))
                    .findFirst().orElseThrow().member());
        }
        return landed;
    }

    private Map<String, Long> podsPerMember() {
        Map<String, Long> out = new LinkedHashMap<>();
        for (InMemoryMemberCluster m : members) {
            out.put(m.name(), m.pods().stream().map(WorkerPod::nodeId).distinct().count());
        }
        return out;
    }

    @Nested
    @DisplayName("spread")
    class Spread {
        @Test
        @DisplayName("Twelve one-worker requests over three equally free members land 4/4/4")
        void evenlyOverEqualMembers() {
            start(Strategies.SPREAD, 32, 32, 32);
            oneAtATime(12);
            assertThat(podsPerMember()).containsExactly(Map.entry("a", 4L), Map.entry("b", 4L), Map.entry("c", 4L));
        }

        @Test
        @DisplayName("One-worker requests follow free room: room for 4 and for 2 get 4 and 2 of six")
        void inProportionToRoom() {
            start(Strategies.SPREAD, 16, 8);
            List<String> landed = oneAtATime(6);
            assertThat(landed.subList(0, 2)).as("the roomier member first").containsExactly("a", "a");
            assertThat(podsPerMember()).containsExactly(Map.entry("a", 4L), Map.entry("b", 2L));
        }
    }

    @Nested
    @DisplayName("most-free")
    class MostFree {
        @Test
        @DisplayName("Each one-worker request goes to the member with the most room left")
        void toTheRoomiest() {
            start(Strategies.MOST_FREE, 16, 8);
            // rooms 4 and 2: a (3 left), a (2 left), tie 2/2 broken by config order: a (1 left), then b (2 > 1)
            assertThat(oneAtATime(4)).containsExactly("a", "a", "a", "b");
        }
    }

    @Nested
    @DisplayName("pack")
    class Pack {
        @Test
        @DisplayName("One-worker requests fill the member already running the pool's workers, then spill over")
        void fillsWhereThePoolAlreadyIs() {
            start(Strategies.PACK, 8, 16, 16);
            // nothing placed yet: config order starts the pool on a; a fills (2), then b, which then holds the most
            assertThat(oneAtATime(7)).containsExactly("a", "a", "b", "b", "b", "b", "c");
        }
    }
}
