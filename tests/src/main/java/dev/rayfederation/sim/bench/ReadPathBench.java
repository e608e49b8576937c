package dev.rayfederation.sim.bench;

import dev.rayfederation.sim.SidecarApi;
import dev.rayfederation.sim.SidecarConfig;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionBuilder;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The read path at growing numbers of nodes, on one member whose API server holds N Running worker pods that both
 * the sidecar (as its nodes) and Ray's KubeRay provider (as its RayCluster's workers) read:
 * <ul>
 *   <li>{@code GET /v1/nodes} latency: 200 with the body cached, 200 right after a change (rendered afresh), 304;</li>
 *   <li>the autoscaler plugin's cost per iteration next to the KubeRay provider's (Python driver, same run);</li>
 *   <li>the sidecar's RSS and heap;</li>
 *   <li>start-up time to ready with no nodes and with the largest N.</li>
 * </ul>
 */
final class ReadPathBench {

    static final String RAY_CLUSTER = "bench";
    static final String NAMESPACE = "ray-workers";
    static final String NODE_TYPE = "cpu";

    /**
     * @param sizes        numbers of nodes, ascending
     * @param runs         runs per figure
     * @param requests     timed requests per run and path
     * @param pluginIterations autoscaler iterations per run of the Python driver
     * @param python       Python with Ray and the plugin (null: skip the plugin comparison)
     * @param driver       bench/python/plugin_iteration.py
     * @param startupRuns  restarts timed at each end
     */
    record Options(List<Integer> sizes, int runs, int requests, int pluginIterations, Path python, Path driver,
                   int startupRuns) {
    }

    private final BenchEnv env;
    private final Options options;
    private final Results results;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    ReadPathBench(BenchEnv env, Options options, Results results) {
        this.env = env;
        this.options = options;
        this.results = results;
    }

    void run() throws Exception {
        int max = options.sizes().get(options.sizes().size() - 1);
        int kubeNodes = Math.max(1, (max + 99) / 100);
        Path dir = env.workDir().resolve("read-path");
        try (BenchMember member = BenchMember.start(new BenchMember.Spec("m1", "aws", NAMESPACE, kubeNodes, 128, "512Gi", 110))) {
            createRayCluster(member);
            Path kubeconfig = member.writeKubeconfig(dir, member.url());
            SidecarConfig config = new SidecarConfig(RAY_CLUSTER, SidecarConfig.DEFAULT_HEAD_ADDRESS,
                    List.of(new SidecarConfig.Cluster("m1", "aws", "us-east-1", null, kubeconfig.toString(), "m1", NAMESPACE,
                            null, Map.of())),
                    List.of(SidecarConfig.VirtualCluster.of("vc")),
                    List.of(SidecarConfig.Pool.of("cpu", "vc", Map.of("CPU", 1, "memory", "1Gi")).withMaxWorkers(max + 1000)),
                    Map.of());
            WorkerPodSeeder seeder = new WorkerPodSeeder(RAY_CLUSTER, "cpu", "vc", NODE_TYPE, 1, "1Gi");
            startupFigure(config, dir, 0);
            try (SidecarRun sidecar = env.startSidecar("read-path", config, dir.resolve("sidecar"))) {
                int seeded = 0;
                for (int n : options.sizes()) {
                    long t0 = System.nanoTime();
                    seeder.seed(member, seeded, n);
                    seeded = n;
                    awaitNodes(sidecar, n);
                    System.out.printf("bench: read-path: %d nodes seeded and listed in %.1f s%n", n, (System.nanoTime() - t0) / 1e9);
                    measure(sidecar, member, n);
                }
                env.memoryProfile(sidecar, "read-path");
            }
            startupFigure(config, dir, max);
        }
    }

    private void measure(SidecarRun sidecar, BenchMember member, int n) throws Exception {
        List<Double> cachedP50 = new ArrayList<>();
        List<Double> cachedP99 = new ArrayList<>();
        List<Double> freshP50 = new ArrayList<>();
        List<Double> freshP99 = new ArrayList<>();
        List<Double> notModifiedP50 = new ArrayList<>();
        List<Double> notModifiedP99 = new ArrayList<>();
        List<Double> bodyKiB = new ArrayList<>();
        List<Double> rss = new ArrayList<>();
        List<Double> heap = new ArrayList<>();
        URI nodes = sidecar.apiUrl().resolve("/v1/nodes");
        String someNode = WorkerPodSeeder.nodeId(0);
        for (int warm = 0; warm < 20; warm++) {
            get(nodes, null);
        }
        for (int run = 0; run < options.runs(); run++) {
            Latencies cached = new Latencies();
            Latencies fresh = new Latencies();
            Latencies notModified = new Latencies();
            HttpResponse<byte[]> first = get(nodes, null);
            String etag = first.headers().firstValue("ETag").orElseThrow(() -> new IllegalStateException("GET /v1/nodes sent no ETag"));
            bodyKiB.add(first.body().length / 1024.0);
            for (int i = 0; i < options.requests(); i++) {
                long t = System.nanoTime();
                HttpResponse<byte[]> r = get(nodes, etag);
                notModified.add(System.nanoTime() - t);
                expect(r, 304);
            }
            for (int i = 0; i < options.requests(); i++) {
                long t = System.nanoTime();
                HttpResponse<byte[]> r = get(nodes, null);
                cached.add(System.nanoTime() - t);
                expect(r, 200);
            }
            for (int i = 0; i < options.requests(); i++) {
                putTag(sidecar, someNode, "r" + run + "-" + i);
                long t = System.nanoTime();
                HttpResponse<byte[]> r = get(nodes, null);
                fresh.add(System.nanoTime() - t);
                expect(r, 200);
            }
            cachedP50.add(cached.percentileMillis(50));
            cachedP99.add(cached.percentileMillis(99));
            freshP50.add(fresh.percentileMillis(50));
            freshP99.add(fresh.percentileMillis(99));
            notModifiedP50.add(notModified.percentileMillis(50));
            notModifiedP99.add(notModified.percentileMillis(99));
            rss.add(sidecar.memory(false).rssMiB());
            heap.add(sidecar.memory(true).heapUsedMiB());
        }
        String how = options.requests() + " sequential GETs per run over one keep-alive HTTP/1.1 connection (Java client, "
                + "body read fully); ";
        boolean big = n >= 10_000;
        add(big, "nodes.get200.cached.p99.n" + n, "GET /v1/nodes 200 (body cached), " + n + " nodes, p99", "ms", cachedP99,
                20, how + "the sidecar serves the body rendered for the current revision");
        results.add(Figure.of("nodes.get200.cached.p50.n" + n, "GET /v1/nodes 200 (body cached), " + n + " nodes, p50", "ms",
                cachedP50, how));
        add(big, "nodes.get200.fresh.p99.n" + n, "GET /v1/nodes 200 after a change (rendered afresh), " + n + " nodes, p99",
                "ms", freshP99, 20, how + "each GET follows a PUT /v1/nodes/{id}/tags, so the body is rendered again");
        results.add(Figure.of("nodes.get200.fresh.p50.n" + n, "GET /v1/nodes 200 after a change, " + n + " nodes, p50", "ms",
                freshP50, how));
        add(big, "nodes.get304.p99.n" + n, "GET /v1/nodes 304 (If-None-Match), " + n + " nodes, p99", "ms", notModifiedP99, 1,
                how + "conditional on the current ETag");
        results.add(Figure.of("nodes.get304.p50.n" + n, "GET /v1/nodes 304, " + n + " nodes, p50", "ms", notModifiedP50, how));
        results.add(Figure.of("nodes.body.n" + n, "GET /v1/nodes body size, " + n + " nodes", "KiB", bodyKiB, null));
        add(big, "sidecar.rss.n" + n, "sidecar RSS with " + n + " Running nodes (1 member)", "MiB", rss, 256,
                "VmRSS of the sidecar process after the GET runs; JVM sized as in the Helm chart (768Mi limit, MaxRAMPercentage=70)");
        results.add(Figure.of("sidecar.heap.n" + n, "sidecar heap used after a full GC, " + n + " nodes", "MiB", heap,
                "jcmd GC.run then GC.heap_info"));
        if (options.python() != null) {
            pluginVersusKubeRay(sidecar, member, n);
        }
    }

    private void add(boolean withTarget, String id, String title, String unit, List<Double> runs, double target, String notes) {
        results.add(withTarget ? Figure.atMost(id, title, unit, runs, target, notes) : Figure.of(id, title, unit, runs, notes));
    }

    private void pluginVersusKubeRay(SidecarRun sidecar, BenchMember member, int n) throws Exception {
        Path out = env.workDir().resolve("read-path").resolve("plugin-" + n + ".json");
        Path token = env.workDir().resolve("read-path").resolve("kube-token");
        Files.writeString(token, "bench-token");
        List<String> command = new ArrayList<>(List.of(options.python().toString(), options.driver().toString(),
                "--sidecar-url", sidecar.apiUrl().toString(),
                "--kube-port", Integer.toString(member.port()),
                "--ca-cert", member.caCert().toString(),
                "--token-file", token.toString(),
                "--namespace", NAMESPACE,
                "--ray-cluster", RAY_CLUSTER,
                "--nodes", Integer.toString(n),
                "--runs", Integer.toString(options.runs()),
                "--iterations", Integer.toString(n >= 10_000 ? Math.max(3, options.pluginIterations() / 4) : options.pluginIterations()),
                "--out", out.toString()));
        if (env.jfrDir() != null) {
            command.addAll(List.of("--profile-out", env.jfrDir().resolve("plugin-n" + n + "-python.txt").toString()));
        }
        Process p = new ProcessBuilder(command).inheritIO().start();
        int code = p.waitFor();
        if (code != 0) {
            throw new IllegalStateException("the plugin driver failed with exit code " + code + ": " + String.join(" ", command));
        }
        results.addAllFrom(out);
    }

    /** Starts a fresh sidecar (no profiling) against the member as it is, several times, timing each start-up. */
    private void startupFigure(SidecarConfig config, Path dir, int n) {
        List<Double> seconds = new ArrayList<>();
        for (int i = 0; i < options.startupRuns(); i++) {
            try (SidecarRun sidecar = env.startPlainSidecar(config, dir.resolve("startup-n" + n + "-" + i))) {
                seconds.add(sidecar.startup().toMillis() / 1000.0);
                if (n > 0 && i == 0) {
                    awaitNodes(sidecar, n);
                }
            }
        }
        results.add(Figure.of("sidecar.startup.n" + n, "sidecar start-up to ready, " + n + " nodes in the member", "s", seconds,
                "from launching the JVM to the first GET /readyz 200 (polled every 10 ms); the member's informers have synced"));
    }

    private void awaitNodes(SidecarRun sidecar, int n) {
        SidecarApi api = new SidecarApi(sidecar.apiUrl(), null);
        long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
        int seen = -1;
        while (System.nanoTime() < deadline) {
            SidecarApi.Response r = api.getNodes();
            seen = r.status() == 200 ? r.body().path("nodes").size() : -1;
            if (seen == n) {
                return;
            }
            SidecarRun.sleep(500);
        }
        throw new IllegalStateException("the sidecar lists " + seen + " nodes, expected " + n);
    }

    private HttpResponse<byte[]> get(URI uri, String ifNoneMatch) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).header("Accept", "application/json");
        if (ifNoneMatch != null) {
            b.header("If-None-Match", ifNoneMatch);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private void putTag(SidecarRun sidecar, String id, String value) throws IOException, InterruptedException {
        HttpRequest put = HttpRequest.newBuilder(sidecar.apiUrl().resolve("/v1/nodes/" + id + "/tags"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"tags\":{\"bench-touch\":\"" + value + "\"}}")).build();
        expect(http.send(put, HttpResponse.BodyHandlers.ofByteArray()), 200);
    }

    private static void expect(HttpResponse<byte[]> r, int status) {
        if (r.statusCode() != status) {
            throw new IllegalStateException(r.request().method() + " " + r.uri() + " answered " + r.statusCode()
                    + ", expected " + status + ": " + new String(r.body(), 0, Math.min(500, r.body().length)));
        }
    }

    /** The RayCluster KubeRay's provider GETs every iteration (its CRD first, so the mock serves the kind). */
    private static void createRayCluster(BenchMember member) {
        CustomResourceDefinition crd = new CustomResourceDefinitionBuilder()
                .withNewMetadata().withName("rayclusters.ray.io").endMetadata()
                .withNewSpec().withGroup("ray.io").withScope("Namespaced")
                .withNewNames().withKind("RayCluster").withPlural("rayclusters").withSingular("raycluster").endNames()
                .addNewVersion().withName("v1").withServed(true).withStorage(true).endVersion()
                .endSpec().build();
        member.client().apiextensions().v1().customResourceDefinitions().resource(crd).create();
        GenericKubernetesResource rc = new GenericKubernetesResourceBuilder()
                .withApiVersion("ray.io/v1").withKind("RayCluster")
                .withNewMetadata().withName(RAY_CLUSTER).withNamespace(NAMESPACE).endMetadata()
                .addToAdditionalProperties("spec", Map.of("workerGroupSpecs", List.of(Map.of("groupName", NODE_TYPE,
                        "replicas", 0, "minReplicas", 0, "maxReplicas", 100_000))))
                .build();
        member.client().genericKubernetesResources("ray.io/v1", "RayCluster").inNamespace(NAMESPACE).resource(rc).create();
    }
}
