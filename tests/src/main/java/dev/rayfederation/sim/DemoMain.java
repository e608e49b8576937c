package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sim.SidecarConfig.Pool;
import dev.rayfederation.sim.SidecarConfig.VirtualCluster;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The demo ({@code scripts/demo}): three simulated members on three clouds, the sidecar as a process, and a script of
 * scale-ups, a spill-over, an infeasible request, a quota rejection and a scale-down driven over HTTP, with a table
 * of what the sidecar reports after each step and why things landed where they did. Exits non-zero with a clear
 * message when a step does not turn out as expected. Ctrl-C stops everything.
 *
 * <pre>
 * java -cp tests/target/ray-federation-sim-all.jar dev.rayfederation.sim.DemoMain [--dir DIR] [--sidecar-jar JAR]
 *      [--running-delay 1s] [--keep-running]
 * </pre>
 */
public final class DemoMain {

    private static final Duration STEP_DEADLINE = Duration.ofSeconds(90);
    private static final int STEPS = 6;
    private static final Map<String, Integer> PRIORITY = Map.of("aws-use1", 30, "gcp-usc1", 20, "azure-eus", 10);

    private final SimulatedMembers members;
    private final SidecarApi api;
    private final SidecarConfig config;
    private final PrintStream out;
    private int step;
    private String stepTitle = "start";

    private DemoMain(SimulatedMembers members, SidecarApi api, SidecarConfig config, PrintStream out) {
        this.members = members;
        this.api = api;
        this.config = config;
        this.out = out;
    }

    public static void main(String[] args) throws Exception {
        Path dir = null;
        Path jar = null;
        Duration delay = Duration.ofMillis(500);
        boolean keepRunning = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--dir" -> dir = Path.of(arg(args, ++i, "--dir"));
                case "--sidecar-jar" -> jar = Path.of(arg(args, ++i, "--sidecar-jar"));
                case "--running-delay" -> delay = DurationArg.parse(arg(args, ++i, "--running-delay"), "--running-delay");
                case "--keep-running" -> keepRunning = true;
                case "-h", "--help" -> {
                    System.out.println("usage: DemoMain [--dir DIR] [--sidecar-jar JAR] [--running-delay 500ms] [--keep-running]");
                    return;
                }
                default -> {
                    System.err.println("error: unknown argument '" + args[i] + "' (try --help)");
                    System.exit(2);
                }
            }
        }
        System.exit(run(dir, jar, delay, keepRunning, System.out));
    }

    private static String arg(String[] args, int i, String flag) {
        if (i >= args.length) {
            System.err.println("error: " + flag + " needs a value");
            System.exit(2);
        }
        return args[i];
    }

    /** Runs the demo; returns the process exit code. */
    static int run(Path dir, Path jar, Duration delay, boolean keepRunning, PrintStream out) throws Exception {
        SidecarProcess.Options sidecarOptions;
        try {
            sidecarOptions = jar != null ? SidecarProcess.Options.forJar(jar.toAbsolutePath().normalize())
                    : SidecarProcess.Options.defaults();
            SidecarProcess.requireRunnableJar(sidecarOptions.jar());
        } catch (IllegalStateException e) {
            System.err.println("demo: " + e.getMessage());
            return 1;
        }
        Path work = dir != null ? dir : Files.createTempDirectory("ray-federation-demo-");
        boolean[] keepWork = {dir != null};
        out.println("ray-federation demo: three member clusters on three clouds, one sidecar");
        out.println("  work dir " + work + (keepWork[0] ? "" : " (deleted at exit unless a step fails)"));
        SimulatedMembers members = SimulatedMembers.start(Topologies.demo(), work.resolve("members"),
                SimulatedKubelet.Options.defaults().withRunningDelay(delay));
        SidecarProcess[] sidecar = new SidecarProcess[1];
        Thread cleanup = new Thread(() -> {
            if (sidecar[0] != null) {
                sidecar[0].close();
            }
            members.close();
            if (!keepWork[0]) {
                deleteTree(work);
            }
        }, "demo-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        for (SimulatedMember m : members.members()) {
            out.printf("  member %-10s %-6s %-12s %s (%s)%n", m.name(), m.spec().cloud(), m.spec().region(), m.url(),
                    describeNodes(m));
        }
        SidecarConfig config = config(members);
        try {
            out.println("  starting the sidecar (" + sidecarOptions.jar().getFileName() + ") ...");
            sidecar[0] = SidecarProcess.start(config, work.resolve("sidecar"), sidecarOptions);
        } catch (IllegalStateException e) {
            keepWork[0] = true;
            System.err.println("demo: the sidecar did not start: " + e.getMessage());
            System.err.println("demo: files kept in " + work);
            return 1;
        }
        out.println("  sidecar API " + sidecar[0].apiUrl() + "  (config " + sidecar[0].configFile() + ", log "
                + sidecar[0].logFile() + ")");
        DemoMain demo = new DemoMain(members, sidecar[0].api(), config, out);
        try {
            demo.runSteps();
        } catch (DemoFailure e) {
            System.err.println();
            System.err.println("DEMO FAILED at step " + demo.step + " (" + demo.stepTitle + "): " + e.getMessage());
            System.err.println("last sidecar log lines:\n" + sidecar[0].logTail(30));
            keepWork[0] = true;
            System.err.println("demo: files kept in " + work);
            return 1;
        }
        out.println();
        out.println("All " + STEPS + " steps behaved as expected.");
        if (keepRunning) {
            out.println("Still running: try  curl -s " + sidecar[0].apiUrl() + "/v1/clusters   (Ctrl-C to stop)");
            Thread.currentThread().join();
        }
        return 0;
    }

    private static void deleteTree(Path root) {
        try (java.util.stream.Stream<Path> paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            // best effort: it is a temp dir
        }
    }

    /** Three pools in two virtual clusters, plus one pool nobody can fit (to show an infeasible request). */
    static SidecarConfig config(SimulatedMembers members) {
        SidecarConfig c = SidecarConfig.forMembers(members).withRayCluster("demo", SidecarConfig.DEFAULT_HEAD_ADDRESS);
        for (Map.Entry<String, Integer> p : PRIORITY.entrySet()) {
            c = c.withCluster(p.getKey(), cl -> cl.withPriority(p.getValue()));
        }
        Map<String, Object> onL4Nodes = Map.of("spec", Map.of(
                "nodeSelector", Map.of(Topologies.GPU_LABEL, "nvidia-l4"),
                "tolerations", List.of(Map.of("key", Topologies.GPU_TAINT, "operator", "Exists", "effect", "NoSchedule"))));
        return c
                .withVirtualCluster(VirtualCluster.of("vc-batch").withQuota("CPU", 160))
                .withVirtualCluster(VirtualCluster.of("vc-inference").withQuota("GPU", 6))
                .withPool(Pool.of("cpu-small", "vc-batch", Map.of("CPU", 4, "memory", "16Gi"))
                        .withStrategy("spread").withMaxWorkers(40))
                .withPool(Pool.of("cpu-large", "vc-batch", Map.of("CPU", 8, "memory", "32Gi"))
                        .withStrategy("priority").withMaxWorkers(16))
                .withPool(Pool.of("gpu-l4", "vc-inference", Map.of("CPU", 8, "GPU", 1, "memory", "32Gi"))
                        .withStrategy("spread").withClusters("gcp-usc1").withMaxWorkers(8)
                        .withLabels(Map.of("accelerator", "nvidia-l4"))
                        .withOverride("gcp-usc1", onL4Nodes))
                .withPool(Pool.of("cpu-xl", "vc-batch", Map.of("CPU", 64, "memory", "256Gi")).withMaxWorkers(4));
    }

    private void runSteps() {
        begin("scale up cpu-large by 9 workers",
                "cpu-large (8 CPU, 32Gi) uses strategy priority: aws-use1 (30) before gcp-usc1 (20) before azure-eus (10).");
        JsonNode answer = createNodes("cpu-large", 9);
        expectCreated(answer, 9);
        awaitWorkers("cpu-large", 9);
        expectPlacement("cpu-large", Map.of("aws-use1", 8, "gcp-usc1", 1));
        why("aws-use1 holds two 8-CPU workers per 16-CPU node: 4 nodes x 2 = 8, then it was full and the 9th "
                + "spilled to the next priority, gcp-usc1 (its 8-CPU node fits exactly one).", "cpu-large");
        report();

        begin("scale up cpu-small by 6 workers",
                "cpu-small (4 CPU, 16Gi) uses strategy spread: in proportion to the room each member has for it.");
        answer = createNodes("cpu-small", 6);
        expectCreated(answer, 6);
        awaitWorkers("cpu-small", 6);
        expectPlacement("cpu-small", Map.of("gcp-usc1", 2, "azure-eus", 4));
        why("aws-use1 is full; gcp-usc1 has room for 2 on its free 8-CPU node (its GPU nodes are tainted), "
                + "azure-eus for 4 on two 8-CPU nodes.", "cpu-small");
        report();

        begin("scale up gpu-l4 by 4 workers",
                "gpu-l4 (8 CPU, 1 GPU, 32Gi) may only use gcp-usc1, where its override adds the L4 nodeSelector and "
                        + "the nvidia.com/gpu toleration.");
        answer = createNodes("gpu-l4", 4);
        expectCreated(answer, 4);
        awaitWorkers("gpu-l4", 4);
        expectPlacement("gpu-l4", Map.of("gcp-usc1", 4));
        why("only gcp-usc1's g2 nodes (4 x L4 each) match the selector and tolerate the GPU taint.", "gpu-l4");
        report();

        begin("ask for a cpu-xl worker (64 CPU, 256Gi)", "No node of any member has 64 CPU: the answer comes at once.");
        answer = createNodes("cpu-xl", 1);
        expectRejected(answer, 1, "infeasible");
        expect(workersOf("cpu-xl").isEmpty(), "no cpu-xl node in GET /v1/nodes", () -> workersOf("cpu-xl").toString());
        why("the largest nodes (gcp-usc1 g2, 48 CPU) are smaller than one worker.", "cpu-xl");

        begin("ask for 4 more gpu-l4 workers", "vc-inference has a quota of 6 GPUs and already uses 4.");
        answer = createNodes("gpu-l4", 4);
        expectCreated(answer, 2);
        expectRejected(answer, 2, "quota");
        awaitWorkers("gpu-l4", 6);
        why("the quota counts across ALL members: 6 GPUs, whatever room gcp-usc1 still has.", "gpu-l4");
        report();

        begin("scale down: terminate the cpu-large worker on gcp-usc1 and 2 cpu-small workers on azure-eus",
                "Terminated workers' pods are deleted in their member; the room they held is free again.");
        List<String> ids = new ArrayList<>(idsOf("cpu-large", "gcp-usc1", 1));
        ids.addAll(idsOf("cpu-small", "azure-eus", 2));
        SidecarApi.Response r = api.terminate(ids);
        out.println("  POST /v1/nodes:terminate " + ids + " -> " + r.status() + " terminating "
                + r.body().path("terminating") + ", unknown " + r.body().path("unknown"));
        expect(r.status() == 200, "200 from POST /v1/nodes:terminate", r::toString);
        awaitWorkers("cpu-large", 8);
        awaitWorkers("cpu-small", 4);
        awaitPodsGone(ids);
        why("cpu-large now only runs on aws-use1; azure-eus has room for 2 cpu-small workers again.", "cpu-small");
        report();
    }

    private void begin(String title, String context) {
        step++;
        stepTitle = title;
        out.println();
        out.println("== Step " + step + "/" + STEPS + ": " + title + " ==");
        out.println("  " + context);
    }

    private JsonNode createNodes(String nodeType, int count) {
        String requestId = "demo-step-" + step;
        Map<String, String> tags = new LinkedHashMap<>();
        tags.put("ray-node-type", "worker");
        tags.put("ray-user-node-type", nodeType);
        tags.put("ray-node-status", "uninitialized");
        SidecarApi.Response r = api.createNodes(nodeType, count, requestId, tags);
        JsonNode rejected = r.body().path("rejected");
        out.println("  POST /v1/nodes {nodeType: " + nodeType + ", count: " + count + ", requestId: " + requestId
                + "} -> " + r.status() + ": created " + r.body().path("created").size()
                + (rejected.path("count").asInt() > 0
                ? ", rejected " + rejected.path("count").asInt() + " (" + rejected.path("reason").asText() + "): "
                + rejected.path("message").asText()
                : ""));
        expect(r.status() == 201, "201 from POST /v1/nodes", r::toString);
        return r.body();
    }

    private void expectCreated(JsonNode answer, int count) {
        expect(answer.path("created").size() == count, count + " created", answer::toString);
    }

    private void expectRejected(JsonNode answer, int count, String reason) {
        JsonNode rejected = answer.path("rejected");
        expect(rejected.path("count").asInt() == count && reason.equals(rejected.path("reason").asText()),
                count + " rejected with reason " + reason, answer::toString);
    }

    private void expectPlacement(String pool, Map<String, Integer> expected) {
        Map<String, Integer> actual = byMember(pool);
        expect(actual.equals(new TreeMap<>(expected)), pool + " workers by member " + new TreeMap<>(expected),
                actual::toString);
    }

    private void expect(boolean ok, String expected, Supplier<String> seen) {
        if (!ok) {
            throw new DemoFailure("expected " + expected + ", got " + seen.get());
        }
    }

    private List<JsonNode> workersOf(String pool) {
        SidecarApi.Response r = api.getNodes();
        expect(r.status() == 200, "200 from GET /v1/nodes", r::toString);
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode n : r.body().path("nodes")) {
            if (pool.equals(n.path("pool").asText())) {
                out.add(n);
            }
        }
        return out;
    }

    private Map<String, Integer> byMember(String pool) {
        Map<String, Integer> out = new TreeMap<>();
        workersOf(pool).forEach(n -> out.merge(n.path("cluster").asText(), 1, Integer::sum));
        return out;
    }

    private List<String> idsOf(String pool, String member, int count) {
        List<String> ids = workersOf(pool).stream().filter(n -> member.equals(n.path("cluster").asText()))
                .map(n -> n.path("id").asText()).limit(count).toList();
        expect(ids.size() == count, count + " " + pool + " workers on " + member, ids::toString);
        return ids;
    }

    /** Waits until the pool has exactly {@code count} workers, all up-to-date. */
    private void awaitWorkers(String pool, int count) {
        Instant deadline = Instant.now().plus(STEP_DEADLINE);
        List<JsonNode> seen = List.of();
        while (Instant.now().isBefore(deadline)) {
            seen = workersOf(pool);
            if (seen.size() == count && seen.stream().allMatch(n -> "up-to-date".equals(n.path("status").asText()))) {
                return;
            }
            pause();
        }
        Map<String, Integer> statuses = new TreeMap<>();
        seen.forEach(n -> statuses.merge(n.path("cluster").asText() + ":" + n.path("status").asText(), 1, Integer::sum));
        throw new DemoFailure("expected " + count + " " + pool + " workers up-to-date within "
                + STEP_DEADLINE.toSeconds() + " s, got " + seen.size() + " " + statuses);
    }

    private void awaitPodsGone(List<String> ids) {
        Instant deadline = Instant.now().plus(STEP_DEADLINE);
        List<String> left = List.of();
        while (Instant.now().isBefore(deadline)) {
            left = members.members().stream().flatMap(m -> m.workerPods().stream())
                    .map(p -> p.getMetadata().getLabels().get(SimulatedFederation.NODE_ID_LABEL))
                    .filter(ids::contains).toList();
            if (left.isEmpty()) {
                return;
            }
            pause();
        }
        throw new DemoFailure("expected the pods of " + ids + " deleted within " + STEP_DEADLINE.toSeconds()
                + " s, still there: " + left);
    }

    private static void pause() {
        try {
            Thread.sleep(250);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DemoFailure("interrupted");
        }
    }

    private void why(String reason, String pool) {
        out.println("  why: " + reason);
        out.println("  room for one more " + pool + " worker now: " + room(config.pool(pool)));
    }

    /** How many more workers of the pool each member could take, node by node, from the members' own objects. */
    private String room(Pool pool) {
        List<String> parts = new ArrayList<>();
        for (SimulatedMember m : members.members()) {
            if (!pool.clusters().isEmpty() && !pool.clusters().contains(m.name())) {
                parts.add(m.name() + " not allowed");
                continue;
            }
            List<Pod> pods = m.client().pods().inAnyNamespace().list().getItems();
            List<io.fabric8.kubernetes.api.model.Node> nodes = m.client().nodes().list().getItems();
            Pod shape = shape(pool, m.name());
            long n = PodFit.room(shape, nodes, PodFit.usage(pods));
            String note = n > 0 ? "" : PodFit.room(shape, nodes, Map.of()) == 0 ? " (no node is large enough)" : " (full)";
            parts.add(m.name() + " " + n + note);
        }
        return String.join(", ", parts);
    }

    /** A pod with the pool's requests and the member's override (nodeSelector, tolerations). */
    private static Pod shape(Pool pool, String member) {
        PodSpec spec = new PodSpec();
        if (pool.overrides().get(member) instanceof Map<?, ?> override && override.get("spec") != null) {
            spec = SidecarApi.JSON.convertValue(override.get("spec"), PodSpec.class);
        }
        Map<String, Quantity> requests = new LinkedHashMap<>();
        pool.resources().forEach((k, v) -> requests.put(switch (k) {
            case "CPU" -> "cpu";
            case "GPU" -> "nvidia.com/gpu";
            default -> k;
        }, new Quantity(v.toString())));
        spec.setContainers(List.of(new ContainerBuilder().withName("shape").withNewResources()
                .withRequests(requests).endResources().build()));
        return new PodBuilder().withNewMetadata().withName("shape").endMetadata().withSpec(spec).build();
    }

    private void report() {
        Map<String, Integer> kubeNodes = new LinkedHashMap<>();
        members.members().forEach(m -> kubeNodes.put(m.name(), m.nodeSpecs().size()));
        out.println();
        out.print(ClusterReport.render(api.clusters().body(), api.getNodes().body(), api.pools().body(), kubeNodes));
    }

    private static String describeNodes(SimulatedMember m) {
        Map<String, Integer> shapes = new LinkedHashMap<>();
        for (NodeSpec n : m.spec().nodes()) {
            String gpu = n.allocatable().get("nvidia.com/gpu");
            shapes.merge(n.allocatable().get("cpu") + " CPU/" + n.allocatable().get("memory")
                    + (gpu != null ? "/" + gpu + " GPU" : ""), 1, Integer::sum);
        }
        List<String> parts = new ArrayList<>();
        shapes.forEach((s, count) -> parts.add(count + " x " + s));
        return String.join(" + ", parts);
    }
}
