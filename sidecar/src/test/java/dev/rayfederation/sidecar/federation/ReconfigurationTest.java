package dev.rayfederation.sidecar.federation;

import dev.rayfederation.k8s.member.InMemoryMemberCluster;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.sidecar.config.CurrentConfig;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.Cluster;
import dev.rayfederation.sidecar.config.FederationConfig.VirtualCluster;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.placement.strategy.Strategies;
import dev.rayfederation.sidecar.provision.CreateOutcome;
import dev.rayfederation.sidecar.provision.CreateRequest;
import dev.rayfederation.sidecar.provision.TestConfigs;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import dev.rayfederation.sidecar.sync.StateStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** A new configuration put in force without a restart, or refused whole; and members cordoned by an operator. */
@DisplayName("Live reconfiguration and cordons")
class ReconfigurationTest {

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final Map<String, InMemoryMemberCluster> backends = new LinkedHashMap<>();
    private final List<String> connected = new ArrayList<>();
    private FederationMetrics metrics;
    private NodeRegistry registry;
    private Federation federation;

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    private InMemoryMemberCluster backend(String name) {
        return backends.computeIfAbsent(name, n -> InMemoryMemberCluster.builder(n, "cloud-" + n, 4,
                ResourceVector.ofQuantities(Map.of("CPU", "16"))).build());
    }

    /** Members a, b (priority 10, 0); pool cpu (4 CPU a worker, strategy priority) on every member; quota CPU=quota. */
    private static FederationConfig config(List<Cluster> clusters, String quota) {
        return TestConfigs.config(clusters,
                List.of(new VirtualCluster("vc", quota == null ? ResourceVector.EMPTY : ResourceVector.ofQuantities(Map.of("CPU", quota)))),
                List.of(TestConfigs.pool("cpu", "vc", Map.of("CPU", "4"), 50, Strategies.PRIORITY,
                        clusters.stream().map(Cluster::name).toList())));
    }

    private static Cluster member(String name, int priority) {
        return TestConfigs.cluster(name, "cloud-" + name, priority);
    }

    private void start(FederationConfig config, Path stateFile) {
        Map<String, MemberCluster> members = new LinkedHashMap<>();
        config.clusters().forEach(c -> members.put(c.name(), backend(c.name())));
        registry = new NodeRegistry();
        CurrentConfig current = new CurrentConfig(config);
        metrics = new FederationMetrics().observe(current, registry, members);
        federation = new Federation(current, members, registry, scheduler, metrics, Clock.systemUTC(), c -> {
            connected.add(c.name());
            return backend(c.name());
        });
        if (stateFile != null) {
            federation.restore(new StateStore(stateFile));
        }
        federation.start();
    }

    private CreateOutcome create(int count) {
        return federation.create(new CreateRequest("cpu", count, UUID.randomUUID().toString(), Map.of(), Map.of(),
                Map.of(), Map.of(), UUID.randomUUID().toString())).toCompletableFuture().join();
    }

    private Map<String, Long> workersByMember() {
        Map<String, Long> out = new LinkedHashMap<>();
        federation.snapshot().nodes().forEach(n -> out.merge(n.member(), 1L, Long::sum));
        return out;
    }

    @Test
    @DisplayName("A member added live is connected, synced and then placed on; the generation counts up")
    void memberAdded() {
        start(config(List.of(member("a", 0)), null), null);
        assertThat(create(2).created()).hasSize(2);

        Reconfiguration.Status s = federation.reconfigure(config(List.of(member("a", 0), member("new", 10)), null));

        assertThat(s.lastOutcome()).isEqualTo(Reconfiguration.Outcome.APPLIED);
        assertThat(s.generation()).isEqualTo(2);
        assertThat(connected).containsExactly("new");
        assertThat(federation.members()).containsKeys("a", "new");
        assertThat(create(3).created()).hasSize(3);
        assertThat(workersByMember()).containsEntry("a", 2L).containsEntry("new", 3L);
        assertThat(metrics.scrape()).contains("ray_federation_config_generation 2.0",
                "ray_federation_config_reloads_total{outcome=\"applied\"} 1.0");
    }

    @Test
    @DisplayName("A quota lowered live refuses new workers at once and terminates none of the running ones")
    void quotaLowered() {
        start(config(List.of(member("a", 0)), "64"), null);
        assertThat(create(4).created()).hasSize(4);

        federation.reconfigure(config(List.of(member("a", 0)), "8"));

        CreateOutcome more = create(1);
        assertThat(more.created()).isEmpty();
        assertThat(more.rejected().reason()).isEqualTo("quota");
        assertThat(more.rejected().message()).contains("quota CPU=8");
        assertThat(federation.snapshot().nodes()).hasSize(4);
        assertThat(backend("a").deleteCalls.get()).isZero();
    }

    @Test
    @DisplayName("A member removed live takes no new workers, keeps its workers until Ray terminates them, then is forgotten")
    void memberRemoved() {
        start(config(List.of(member("a", 10), member("b", 0)), null), null);
        List<String> onA = create(2).created();
        assertThat(workersByMember()).containsEntry("a", 2L);

        federation.reconfigure(config(List.of(member("b", 0)), null));

        assertThat(create(2).created()).hasSize(2);
        assertThat(workersByMember()).containsEntry("a", 2L).containsEntry("b", 2L);
        assertThat(federation.removedMembers()).containsOnlyKeys("a");
        assertThat(federation.members()).containsKey("a");
        assertThat(backend("a").deleteCalls.get()).isZero();

        federation.terminate(onA);

        await().atMost(Duration.ofSeconds(20)).until(() -> federation.removedMembers().isEmpty());
        assertThat(federation.members()).containsOnlyKeys("b");
        assertThat(workersByMember()).containsOnlyKeys("b");
    }

    @Test
    @DisplayName("A change that cannot apply live is refused with every problem listed, and nothing changes")
    void refusedWhole() {
        FederationConfig old = config(List.of(member("a", 0)), "64");
        start(old, null);
        Cluster moved = new Cluster("a", "cloud-a", "region-a", null, null, null, "elsewhere", 0, Map.of(), false,
                FederationConfig.CapacityMode.AUTO, ResourceVector.EMPTY, "nvidia.com/gpu");
        FederationConfig changed = config(List.of(moved, member("new", 0)), "8");
        FederationConfig next = new FederationConfig(new FederationConfig.RayCluster("other", "10.0.0.12:6379"),
                new FederationConfig.Api(new FederationConfig.HostPort("127.0.0.1", 9999), null), changed.management(),
                changed.clusters(), changed.virtualClusters(), changed.pools(), changed.timing());

        Reconfiguration.Status s = federation.reconfigure(next);

        assertThat(s.lastOutcome()).isEqualTo(Reconfiguration.Outcome.REFUSED);
        assertThat(s.generation()).isEqualTo(1);
        assertThat(s.problems()).hasSize(3).anySatisfy(p -> assertThat(p).startsWith("rayCluster.name: cannot change live"))
                .anySatisfy(p -> assertThat(p).startsWith("api.listen: cannot change live"))
                .anySatisfy(p -> assertThat(p).startsWith("clusters[0].namespace: cannot change live for member a"));
        assertThat(federation.config()).isSameAs(old);
        assertThat(connected).as("no member is connected for a refused config").isEmpty();
        assertThat(federation.members()).containsOnlyKeys("a");
        assertThat(metrics.scrape()).contains("ray_federation_config_reloads_total{outcome=\"refused\"} 1.0");
    }

    @Test
    @DisplayName("A removed member that still has workers comes back only with its former settings")
    void removedMemberBackOnlyAsItWas() {
        start(config(List.of(member("a", 10), member("b", 0)), null), null);
        create(1);
        federation.reconfigure(config(List.of(member("b", 0)), null));

        Reconfiguration.Status other = federation.reconfigure(config(List.of(member("b", 0), member("a", 5)), null));
        assertThat(other.problems()).singleElement().asString()
                .startsWith("clusters[1]: member a was removed and still has workers");

        Reconfiguration.Status same = federation.reconfigure(config(List.of(member("a", 10), member("b", 0)), null));
        assertThat(same.lastOutcome()).isEqualTo(Reconfiguration.Outcome.APPLIED);
        assertThat(federation.removedMembers()).isEmpty();
        assertThat(connected).as("its connection is kept, not made again").isEmpty();
        assertThat(create(1).created()).singleElement().satisfies(id ->
                assertThat(registry.get(id).map(NodeRecord::member)).contains("a"));
    }

    @Test
    @DisplayName("A cordoned member takes no new workers, says who and why; uncordon lets it take them again")
    void cordon() {
        start(config(List.of(member("a", 10), member("b", 0)), null), null);
        federation.cordon("a", "alice", "kernel upgrade");
        assertThat(federation.cordon("a", "bob", null).by()).as("idempotent: the first cordon stays").isEqualTo("alice");

        assertThat(create(2).created()).hasSize(2);
        assertThat(workersByMember()).containsOnlyKeys("b");

        federation.cordon("b", "alice", null);
        CreateOutcome none = create(1);
        assertThat(none.rejected().message()).contains("a cordoned by alice since", "(kernel upgrade)");

        assertThat(federation.uncordon("a")).isTrue();
        assertThat(federation.uncordon("a")).isFalse();
        assertThat(create(1).created()).hasSize(1);
        assertThat(workersByMember()).containsEntry("a", 1L);
        assertThatThrownBy(() -> federation.cordon("nope", "alice", null))
                .isInstanceOf(MemberNotFoundException.class).hasMessageContaining("no member 'nope'");
    }

    @Test
    @DisplayName("A cordon is kept across a restart through the state file")
    void cordonSurvivesRestart(@TempDir Path dir) {
        Path state = dir.resolve("state.json");
        FederationConfig config = config(List.of(member("a", 10), member("b", 0)), null);
        start(config, state);
        federation.cordon("a", "alice", "maintenance");
        federation.flush();

        start(config, state);

        assertThat(federation.cordon("a")).hasValueSatisfying(c -> {
            assertThat(c.by()).isEqualTo("alice");
            assertThat(c.reason()).isEqualTo("maintenance");
        });
        assertThat(create(1).created()).hasSize(1);
        assertThat(workersByMember()).containsOnlyKeys("b");
    }

    /** What a creator thread saw: the ids it was answered, and the answers to creates begun after the reload returned. */
    private record Seen(List<String> created, List<CreateOutcome> afterReload) {
    }

    @Test
    @DisplayName("A reload lowering the limits never races a create: none is accepted once the reload has returned, none running is killed")
    void reloadNeverRacesACreate() throws Exception {
        int rounds = 60;
        int creators = 4;
        for (int round = 0; round < rounds; round++) {
            // odd rounds lower the virtual cluster's quota, even ones the pool's maxWorkers; both to 2 workers
            boolean quota = round % 2 == 1;
            InMemoryMemberCluster a = InMemoryMemberCluster.builder("a", "cloud-a", 64,
                    ResourceVector.ofQuantities(Map.of("CPU", "16"))).build(); // room for 256 workers
            FederationConfig high = limits(1000, "4000");
            FederationConfig low = quota ? limits(1000, "8") : limits(2, "4000");
            ScheduledExecutorService roundScheduler = Executors.newSingleThreadScheduledExecutor();
            ExecutorService threads = Executors.newFixedThreadPool(creators);
            ExecutorService watcher = Executors.newSingleThreadExecutor();
            try {
                Map<String, MemberCluster> members = Map.of("a", a);
                NodeRegistry reg = new NodeRegistry();
                CurrentConfig current = new CurrentConfig(high);
                Federation f = new Federation(current, members, reg, roundScheduler,
                        new FederationMetrics().observe(current, reg, members), Clock.systemUTC(), c -> {
                            throw new IllegalStateException("no member is added here");
                        });
                f.start();
                await().atMost(Duration.ofSeconds(20)).until(f::ready);

                AtomicBoolean reloaded = new AtomicBoolean();
                List<Future<Seen>> seen = new ArrayList<>();
                for (int t = 0; t < creators; t++) {
                    seen.add(threads.submit(() -> {
                        List<String> created = new ArrayList<>();
                        List<CreateOutcome> after = new ArrayList<>();
                        while (after.size() < 3) { // until three creates begun after the reload were answered
                            boolean begunAfter = reloaded.get();
                            CreateOutcome o = f.create(new CreateRequest("cpu", 1, UUID.randomUUID().toString(), Map.of(),
                                    Map.of(), Map.of(), Map.of(), UUID.randomUUID().toString())).toCompletableFuture().join();
                            created.addAll(o.created());
                            if (begunAfter) {
                                after.add(o);
                            }
                        }
                        return new Seen(created, after);
                    }));
                }
                // reload while the creators are busy, well below the old limits and the member's room
                await().atMost(Duration.ofSeconds(30)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(1))
                        .until(() -> f.snapshot().nodes().size() >= 8);

                // the workers there are the moment the new limits are seen in force (as the views show them), by a
                // reader watching for them while the reload runs; and once the reload has returned
                Future<Integer> whenSeen = watcher.submit(() -> {
                    while (f.config() != low) {
                        Thread.onSpinWait();
                    }
                    return f.snapshot().nodes().size();
                });
                Reconfiguration.Status s = f.reconfigure(low);
                int atReload = f.snapshot().nodes().size();
                reloaded.set(true);
                int seenInForce = whenSeen.get(30, TimeUnit.SECONDS);

                assertThat(s.lastOutcome()).isEqualTo(Reconfiguration.Outcome.APPLIED);
                List<String> created = new ArrayList<>();
                for (Future<Seen> each : seen) {
                    Seen one = each.get(60, TimeUnit.SECONDS);
                    created.addAll(one.created());
                    assertThat(one.afterReload()).as("round %d: creates begun after the reload", round)
                            .allSatisfy(o -> {
                                assertThat(o.created()).isEmpty();
                                assertThat(o.rejected().reason()).isEqualTo("quota");
                            });
                }
                Set<String> now = ConcurrentHashMap.newKeySet();
                f.snapshot().nodes().forEach(n -> now.add(n.id()));
                assertThat(now).as("round %d: workers now vs %d when the new limits were seen in force", round, seenInForce)
                        .hasSize(seenInForce);
                assertThat(now).as("round %d: workers now vs %d when the reload returned", round, atReload)
                        .hasSize(atReload);
                assertThat(now).as("round %d: every worker answered as created is still there", round)
                        .containsExactlyInAnyOrderElementsOf(created);
                assertThat(a.pods()).hasSize(atReload);
                assertThat(a.deleteCalls.get()).as("round %d: no pod deleted", round).isZero();
            } finally {
                threads.shutdownNow();
                watcher.shutdownNow();
                roundScheduler.shutdownNow();
            }
        }
    }

    /** Member a; pool cpu (4 CPU a worker) with {@code maxWorkers}; virtual cluster vc with quota CPU={@code quota}. */
    private static FederationConfig limits(int maxWorkers, String quota) {
        return TestConfigs.config(List.of(member("a", 0)),
                List.of(new VirtualCluster("vc", ResourceVector.ofQuantities(Map.of("CPU", quota)))),
                List.of(TestConfigs.pool("cpu", "vc", Map.of("CPU", "4"), maxWorkers, Strategies.PRIORITY, List.of("a"))));
    }
}
