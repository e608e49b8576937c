package dev.rayfederation.sidecar.federation;

import dev.rayfederation.k8s.member.InMemoryMemberCluster;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.sidecar.config.ConfigLoader;
import dev.rayfederation.sidecar.config.CurrentConfig;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.provision.CreateOutcome;
import dev.rayfederation.sidecar.provision.CreateRequest;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.awaitility.Awaitility.await;

/** The config file is watched the way Kubernetes updates a mounted ConfigMap: by swapping the ..data symlink. */
class ConfigWatcherTest {

    private static final String CONFIG = """
            rayCluster: {name: demo, headAddress: "10.0.0.12:6379"}
            clusters:
              - {name: a, cloud: x}
            virtualClusters:
              - {name: vc}
            pools:
              - {name: cpu, virtualCluster: vc, rayNodeType: cpu, resources: {CPU: 4}, maxWorkers: %d}
            """;

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

    @TempDir
    Path mount;

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    /** Writes a new timestamped directory and points ..data at it in one rename, as the kubelet does. */
    private void publish(String version, String content) throws Exception {
        Path data = Files.createDirectory(mount.resolve("..2025_" + version));
        Files.writeString(data.resolve("federation.yaml"), content);
        Path link = Files.createSymbolicLink(mount.resolve("..data_tmp"), data.getFileName());
        Files.move(link, mount.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
    }

    @Test
    @DisplayName("A ConfigMap update (..data swapped) is applied within seconds; a broken one is refused and the old stays")
    void followsConfigMapUpdates() throws Exception {
        publish("1", CONFIG.formatted(10));
        Path file = Files.createSymbolicLink(mount.resolve("federation.yaml"), Path.of("..data/federation.yaml"));
        CurrentConfig current = new CurrentConfig(ConfigLoader.load(file));
        MemberCluster a = InMemoryMemberCluster.builder("a", "x", 1, ResourceVector.ofQuantities(Map.of("CPU", "8"))).build();
        NodeRegistry registry = new NodeRegistry();
        Map<String, MemberCluster> members = Map.of("a", a);
        Federation federation = new Federation(current, members, registry, scheduler,
                new FederationMetrics().observe(current, registry, members), Clock.systemUTC(), c -> {
                    throw new IllegalStateException("no member is added here");
                });
        federation.watch(file);
        federation.start();

        publish("2", CONFIG.formatted(3));
        await().atMost(Duration.ofSeconds(20)).until(() -> federation.configStatus().generation() == 2);
        assertThat(federation.config().pools().get(0).maxWorkers()).isEqualTo(3);

        publish("3", CONFIG.formatted(-1));
        await().atMost(Duration.ofSeconds(20)).until(() -> federation.configStatus().lastOutcome() == Reconfiguration.Outcome.REFUSED);
        assertThat(federation.configStatus().problems()).singleElement().asString().startsWith("pools[0].maxWorkers");
        assertThat(federation.configStatus().generation()).isEqualTo(2);
        assertThat(federation.config().pools().get(0).maxWorkers()).isEqualTo(3);
    }

    @Test
    @DisplayName("SIGHUP applies a changed config file at once, without waiting for the poll")
    void sighupReloadsAtOnce() throws Exception {
        assumeTrue(!System.getProperty("os.name").toLowerCase().startsWith("windows"), "no kill -HUP here");
        Path file = mount.resolve("federation.yaml");
        Files.writeString(file, CONFIG.formatted(10));
        CurrentConfig current = new CurrentConfig(ConfigLoader.load(file));
        MemberCluster a = InMemoryMemberCluster.builder("a", "x", 1, ResourceVector.ofQuantities(Map.of("CPU", "16"))).build();
        NodeRegistry registry = new NodeRegistry();
        Map<String, MemberCluster> members = Map.of("a", a);
        Federation federation = new Federation(current, members, registry, scheduler,
                new FederationMetrics().observe(current, registry, members), Clock.systemUTC(), c -> {
                    throw new IllegalStateException("no member is added here");
                });
        // polled once an hour: a change applied within the test was read on SIGHUP
        ConfigWatcher watcher = federation.watch(file).pollEvery(Duration.ofHours(1));
        federation.start();
        await().atMost(Duration.ofSeconds(20)).until(federation::ready);
        assertThat(create(federation, 2).created()).hasSize(2);

        sun.misc.Signal hup = new sun.misc.Signal("HUP");
        sun.misc.SignalHandler before = sun.misc.Signal.handle(hup, s -> { });
        try {
            // false where the JVM has no signals, or SIGHUP was ignored when it started (nohup): no handler then
            assumeTrue(watcher.reloadOnHangup(), "SIGHUP cannot be handled in this JVM (ignored since it started?)");
            Files.writeString(file, CONFIG.formatted(2)); // maxWorkers 10 -> 2: the pool is full
            Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(ProcessHandle.current().pid()))
                    .inheritIO().start();
            assertThat(kill.waitFor()).isZero();

            await().atMost(Duration.ofSeconds(20)).until(() -> federation.configStatus().generation() == 2);
            assertThat(federation.configStatus().lastOutcome()).isEqualTo(Reconfiguration.Outcome.APPLIED);
            CreateOutcome more = create(federation, 1);
            assertThat(more.created()).isEmpty();
            assertThat(more.rejected().reason()).isEqualTo("quota");
            assertThat(more.rejected().message()).contains("maxWorkers");
            assertThat(federation.snapshot().nodes()).as("the running workers stay").hasSize(2);
        } finally {
            sun.misc.Signal.handle(hup, before);
        }
    }

    private static CreateOutcome create(Federation federation, int count) {
        return federation.create(new CreateRequest("cpu", count, UUID.randomUUID().toString(), Map.of(), Map.of(),
                Map.of(), Map.of(), UUID.randomUUID().toString())).toCompletableFuture().join();
    }
}
