package dev.rayfederation.real;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sim.SidecarApi;
import dev.rayfederation.sim.SidecarConfig;
import dev.rayfederation.sim.SidecarProcess;
import dev.rayfederation.sim.Topologies;
import io.fabric8.kubernetes.api.model.Pod;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What every real-member test shares: three real Kubernetes members (the demo topology: aws-use1 4 x 16 CPU,
 * gcp-usc1 2 x 8 CPU + 2 tainted GPU nodes, azure-eus 2 x 8 CPU), started ONCE for the whole tier and stopped at
 * its end; a sidecar jar started per test with a Ray cluster name of its own; every worker pod deleted after each
 * test. Tagged {@code real-k8s}: excluded from the default build, run by scripts/test's "Real Kubernetes members"
 * step.
 */
@Tag("real-k8s")
abstract class RealFederationTest {

    static final String AWS = "aws-use1";
    static final String GCP = "gcp-usc1";
    static final String AZURE = "azure-eus";
    /** Generous: the machine is shared and slow; nothing here measures speed. */
    static final Duration DEADLINE = Duration.ofSeconds(120);
    static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    static final String POOL_LABEL = "ray-federation.io/pool";
    static final String NODE_ID_LABEL = "ray-federation.io/node-id";

    private static final AtomicInteger SIDECARS = new AtomicInteger();

    /** Starts the members the first time any real-member test class runs; closes them after the last one. */
    @RegisterExtension
    static final BeforeAllCallback SHARED_MEMBERS = context -> context.getRoot()
            .getStore(ExtensionContext.Namespace.create(RealFederationTest.class))
            .getOrComputeIfAbsent("members", k -> SharedMembers.start(), SharedMembers.class);

    SidecarProcess sidecar;
    Path testDir;

    @RegisterExtension
    final TestWatcher printLogsOnFailure = new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
            if (sidecar != null) {
                System.out.println("---- sidecar log tail (" + sidecar.logFile() + ") ----\n" + sidecar.logTail(120));
            }
        }
    };

    @BeforeEach
    void makeTestDir(TestInfo info) throws IOException {
        testDir = SharedMembers.ROOT.resolve("tests")
                .resolve(getClass().getSimpleName() + "-" + info.getTestMethod().orElseThrow().getName());
        Files.createDirectories(testDir);
    }

    @AfterEach
    void stopSidecarAndDeleteWorkers() {
        try {
            if (sidecar != null) {
                sidecar.close();
            }
        } finally {
            deleteAllWorkers();
        }
    }

    static RealMembers members() {
        return SharedMembers.get();
    }

    static RealMember member(String name) {
        return members().member(name);
    }

    /** Deletes every worker pod of every member and waits until they are gone. */
    static void deleteAllWorkers() {
        for (RealMember m : members().members()) {
            m.admin().pods().inNamespace(m.namespace()).withLabel(MANAGED_BY, "ray-federation").delete();
        }
        await("every worker pod deleted").atMost(DEADLINE).untilAsserted(() -> {
            for (RealMember m : members().members()) {
                assertThat(m.workerPods()).as("worker pods left on %s", m.name()).isEmpty();
            }
        });
    }

    /** A sidecar config for the members, Ray cluster name unique to this sidecar, quick member retries. */
    static SidecarConfig baseConfig() {
        return members().sidecarConfig("real" + SIDECARS.incrementAndGet())
                .with("timing", Map.of("memberStartTimeout", "20s", "memberRetryInterval", "1s"));
    }

    /** Starts the sidecar jar with {@code configure} applied to {@link #baseConfig()}. */
    SidecarProcess startSidecar(UnaryOperator<SidecarConfig> configure) {
        sidecar = SidecarProcess.start(configure.apply(baseConfig()), testDir.resolve("sidecar"));
        awaitAllHealthy();
        return sidecar;
    }

    SidecarApi api() {
        return sidecar.api();
    }

    void awaitAllHealthy() {
        await("every member healthy in GET /v1/clusters").atMost(DEADLINE).untilAsserted(() -> {
            Map<String, String> states = new TreeMap<>();
            api().clusters().body().path("clusters").forEach(c -> states.put(c.path("name").asText(), c.path("state").asText()));
            assertThat(states).as("member states").isEqualTo(Map.of(AWS, "healthy", GCP, "healthy", AZURE, "healthy"));
        });
    }

    /** The tags Ray's autoscaler sends with a create call for a worker of {@code nodeType}. */
    static Map<String, String> rayTags(String nodeType) {
        return SidecarApi.rayTags(nodeType);
    }

    /** POST /v1/nodes expecting 201. */
    SidecarApi.Response create(String nodeType, int count, String requestId) {
        SidecarApi.Response r = api().createNodes(nodeType, count, requestId, rayTags(nodeType));
        assertThat(r.status()).as("status of %s", r).isEqualTo(201);
        return r;
    }

    static List<String> created(SidecarApi.Response r) {
        return SidecarApi.created(r);
    }

    /** The {@code nodes} of GET /v1/nodes. */
    List<JsonNode> nodes() {
        SidecarApi.Response r = api().getNodes();
        assertThat(r.status()).as("%s", r).isEqualTo(200);
        List<JsonNode> out = new ArrayList<>();
        r.body().path("nodes").forEach(out::add);
        return out;
    }

    List<JsonNode> nodesOf(String pool) {
        return nodes().stream().filter(n -> pool.equals(n.path("pool").asText())).toList();
    }

    /** Waits until GET /v1/nodes shows exactly {@code count} nodes of the pool, all up-to-date. */
    void awaitUpToDate(String pool, int count) {
        await("%d %s workers up-to-date".formatted(count, pool)).atMost(DEADLINE).untilAsserted(() ->
                assertThat(nodesOf(pool)).as("nodes of pool %s", pool).hasSize(count)
                        .allSatisfy(n -> assertThat(n.path("status").asText()).as("status of %s", n).isEqualTo("up-to-date")));
    }

    /** Worker pods of one pool on each member (every member listed, 0 included). */
    static Map<String, Integer> podCounts(String pool) {
        Map<String, Integer> out = new TreeMap<>();
        for (RealMember m : members().members()) {
            out.put(m.name(), (int) m.workerPods().stream()
                    .filter(p -> pool.equals(p.getMetadata().getLabels().get(POOL_LABEL))).count());
        }
        return out;
    }

    static List<Pod> podsOf(RealMember m, String pool) {
        return m.workerPods().stream().filter(p -> pool.equals(p.getMetadata().getLabels().get(POOL_LABEL))).toList();
    }

    /** API nodes of one pool counted by member. */
    Map<String, Integer> apiNodesByMember(String pool) {
        Map<String, Integer> out = new TreeMap<>();
        nodesOf(pool).forEach(n -> out.merge(n.path("cluster").asText(), 1, Integer::sum));
        return out;
    }

    /** The member's entry of GET /v1/clusters. */
    JsonNode clusterEntry(String member) {
        for (JsonNode c : api().clusters().body().path("clusters")) {
            if (member.equals(c.path("name").asText())) {
                return c;
            }
        }
        throw new AssertionError("no member " + member + " in GET /v1/clusters");
    }

    /** The back-off of (member, pool) listed in GET /v1/clusters, or null. */
    JsonNode backoff(String member, String pool) {
        for (JsonNode b : clusterEntry(member).path("backoffs")) {
            if (pool.equals(b.path("pool").asText())) {
                return b;
            }
        }
        return null;
    }

    /** One sample of the sidecar's /metrics (0 when absent), labels matched exactly. */
    double metric(String name, Map<String, String> labels) throws Exception {
        return sidecar.metric(name, labels);
    }

    /** Replacement timings short enough for a test; back-offs long enough to last one. */
    static SidecarConfig quickReplacement(SidecarConfig c) {
        Map<String, Object> replacement = new LinkedHashMap<>();
        replacement.put("unschedulableGrace", "2s");
        replacement.put("startTimeout", "5m");
        replacement.put("backoffInitial", "60s");
        replacement.put("backoffMax", "120s");
        replacement.put("checkInterval", "500ms");
        return c.with("replacement", replacement);
    }

    /** Priority order aws-use1, gcp-usc1, azure-eus. */
    static SidecarConfig awsFirst(SidecarConfig c) {
        return c.withCluster(AWS, m -> m.withPriority(100)).withCluster(GCP, m -> m.withPriority(10))
                .withCluster(AZURE, m -> m.withPriority(1));
    }

    /** A pod spec patch whose required node affinity no node of any member satisfies. */
    static Map<String, Object> unsatisfiableAffinity() {
        return Map.of("spec", Map.of("affinity", Map.of("nodeAffinity", Map.of(
                "requiredDuringSchedulingIgnoredDuringExecution", Map.of("nodeSelectorTerms", List.of(Map.of(
                        "matchExpressions", List.of(Map.of("key", "ray-federation.io/test-no-such-node",
                                "operator", "In", "values", List.of("present"))))))))));
    }

    /** The members of the whole tier: started on first use, closed by JUnit after the last test class. */
    static final class SharedMembers implements AutoCloseable {

        /** Under the tests module's target/: member logs and audit logs stay for inspection after a failure. */
        static final Path ROOT = Path.of("target", "real-k8s").toAbsolutePath();
        private static volatile RealMembers members;

        static SharedMembers start() {
            try {
                if (Files.exists(ROOT)) {
                    try (Stream<Path> old = Files.walk(ROOT)) {
                        old.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                    }
                }
                Files.createDirectories(ROOT);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot prepare " + ROOT, e);
            }
            long started = System.nanoTime();
            members = RealMembers.start(Topologies.demo(), ROOT.resolve("members"));
            System.out.printf("real members %s started in %.1f s%n",
                    members.members().stream().map(RealMember::name).toList(), (System.nanoTime() - started) / 1e9);
            return new SharedMembers();
        }

        static RealMembers get() {
            if (members == null) {
                throw new IllegalStateException("the real members are not started (SHARED_MEMBERS extension)");
            }
            return members;
        }

        @Override
        public void close() {
            if (members != null) {
                members.close();
                members = null;
            }
        }
    }
}
