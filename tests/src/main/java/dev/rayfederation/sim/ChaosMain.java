package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sim.SidecarConfig.Pool;
import dev.rayfederation.sim.SidecarConfig.VirtualCluster;
import dev.rayfederation.sim.Timeline.Kind;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * {@code scripts/chaos}: one resilience scenario against the demo's three simulated members (aws-use1, gcp-usc1,
 * azure-eus; see {@link Topologies#demo()}) and the sidecar as a process, printed as a timeline a person can read:
 * breaker transitions (open, half_open, closed) and member states as GET /v1/clusters shows them (polled every
 * 200 ms), placements per step, re-placements, stale nodes, back-offs, and the final counts per member.
 *
 * <p>Scenario {@code cloud-outage}:
 * <ol>
 *   <li>scale up to 24 workers across the three clouds;</li>
 *   <li>aws-use1's API server goes down: its nodes stay, marked stale;</li>
 *   <li>Ray terminates 4 of aws-use1's workers during the outage: accepted, retried until done; the failing
 *       deletes open the aws breaker;</li>
 *   <li>azure-eus's scheduler stalls and Ray asks for 8 more workers: they go to gcp-usc1 and azure-eus, and the
 *       ones stuck on azure-eus move to gcp-usc1 under the same ids while (azure-eus, chaos) backs off;</li>
 *   <li>aws-use1 comes back and azure-eus's scheduler resumes: breaker half_open then closed, nodes fresh again,
 *       the pending terminations done;</li>
 *   <li>final check: exactly 24 workers, one pod per node id across members, every pod in GET /v1/nodes.</li>
 * </ol>
 * Exits 0 when every step and the final state are as expected, 1 otherwise (with the sidecar's last log lines).
 * Ctrl-C stops the sidecar and the members.
 *
 * <pre>
 * java -cp tests/target/ray-federation-sim-all.jar dev.rayfederation.sim.ChaosMain [--dir DIR] [--sidecar-jar JAR]
 *      [--running-delay 300ms]
 * </pre>
 */
public final class ChaosMain {

    private static final String POOL = "chaos";
    private static final String DOWN = "aws-use1";
    private static final String STALLED = "azure-eus";
    private static final Duration STEP_DEADLINE = Duration.ofSeconds(120);
    private static final int STEPS = 6;
    private static final int FIRST = 24;
    private static final int TERMINATED = 4;
    private static final int MORE = 8;

    /** A step's expectation was not met in time: the run fails. */
    static final class StepFailed extends RuntimeException {
        StepFailed(String message) {
            super(message);
        }
    }

    private final SimulatedMembers members;
    private final SidecarApi api;
    private final Timeline timeline;
    private final ClusterWatch watch;
    private final ScaleUpDriver driver;
    private int step;
    private int finalTarget = -1;

    private ChaosMain(SimulatedMembers members, SidecarApi api, Timeline timeline) {
        this.members = members;
        this.api = api;
        this.timeline = timeline;
        this.watch = ClusterWatch.start(api, timeline);
        this.driver = new ScaleUpDriver(api, POOL, POOL, "chaos", 20, timeline);
    }

    public static void main(String[] args) throws Exception {
        // the timeline is the output: keep the simulators' own chatter (watch reconnects during the outage) out of it
        quietLogger("io.fabric8", "warn");
        quietLogger("io.vertx", "error");
        Path dir = null;
        Path jar = null;
        Duration delay = Duration.ofMillis(300);
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--dir" -> dir = Path.of(arg(args, ++i, "--dir"));
                case "--sidecar-jar" -> jar = Path.of(arg(args, ++i, "--sidecar-jar"));
                case "--running-delay" -> delay = DurationArg.parse(arg(args, ++i, "--running-delay"), "--running-delay");
                case "-h", "--help" -> {
                    System.out.println("usage: ChaosMain [--dir DIR] [--sidecar-jar JAR] [--running-delay 300ms]");
                    return;
                }
                default -> {
                    System.err.println("chaos: unknown argument '" + args[i] + "' (try --help)");
                    System.exit(2);
                }
            }
        }
        System.exit(run(dir, jar, delay, System.out));
    }

    /** Sets a slf4j-simple level unless the user set one (-Dorg.slf4j.simpleLogger.log.NAME=LEVEL). */
    private static void quietLogger(String name, String level) {
        String key = "org.slf4j.simpleLogger.log." + name;
        if (System.getProperty(key) == null) {
            System.setProperty(key, level);
        }
    }

    private static String arg(String[] args, int i, String flag) {
        if (i >= args.length) {
            System.err.println("chaos: " + flag + " needs a value");
            System.exit(2);
        }
        return args[i];
    }

    /** Runs the scenario; returns the exit code. */
    static int run(Path dir, Path jar, Duration delay, PrintStream out) throws IOException {
        SidecarProcess.Options options;
        try {
            options = jar != null ? SidecarProcess.Options.forJar(jar.toAbsolutePath().normalize())
                    : SidecarProcess.Options.defaults();
            SidecarProcess.requireRunnableJar(options.jar());
        } catch (IllegalStateException e) {
            System.err.println("chaos: " + e.getMessage());
            return 1;
        }
        Path work = dir != null ? dir : Files.createTempDirectory("ray-federation-chaos-");
        boolean[] keepWork = {dir != null};
        out.println("ray-federation chaos: scenario cloud-outage on the demo's three member clusters");
        out.println("  work dir " + work + (keepWork[0] ? "" : " (deleted at exit unless something fails)"));
        SimulatedMembers members = SimulatedMembers.start(Topologies.demo(), work.resolve("members"),
                SimulatedKubelet.Options.defaults().withRunningDelay(delay));
        SidecarProcess[] sidecar = new SidecarProcess[1];
        ChaosMain[] chaos = new ChaosMain[1];
        Thread cleanup = new Thread(() -> {
            if (chaos[0] != null) {
                chaos[0].close();
            }
            if (sidecar[0] != null) {
                sidecar[0].close();
            }
            members.close();
            if (!keepWork[0]) {
                deleteTree(work);
            }
        }, "chaos-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        for (SimulatedMember m : members.members()) {
            out.printf("  member %-10s %-6s %s%n", m.name(), m.spec().cloud(), m.url());
        }
        try {
            out.println("  starting the sidecar (" + options.jar().getFileName() + ") ...");
            sidecar[0] = SidecarProcess.start(config(members), work.resolve("sidecar"), options);
        } catch (IllegalStateException e) {
            keepWork[0] = true;
            System.err.println("chaos: the sidecar did not start: " + e.getMessage());
            System.err.println("chaos: files kept in " + work);
            return 1;
        }
        out.println("  sidecar API " + sidecar[0].apiUrl() + " (config " + sidecar[0].configFile() + ", log "
                + sidecar[0].logFile() + ")");
        out.println("  pool " + POOL + ": 1 CPU, 2Gi per worker, strategy spread over all three members");
        out.println("  replacement: startTimeout 5s, back-off 60s..120s; breakers: open after >= 50% of >= 3 calls "
                + "failed, half_open after 3s, 2 trial calls");
        out.println();
        out.println("timeline (seconds since the start of the scenario):");
        Timeline timeline = new Timeline(out);
        chaos[0] = new ChaosMain(members, sidecar[0].api(), timeline);
        try {
            chaos[0].scenario();
        } catch (StepFailed | IllegalStateException | UncheckedIOException e) {
            timeline.add(Kind.CHECK, "FAILED", "step " + chaos[0].step + ": " + e.getMessage());
            System.err.println();
            System.err.println("CHAOS FAILED at step " + chaos[0].step + ": " + e.getMessage());
            System.err.println("last sidecar log lines:\n" + sidecar[0].logTail(40));
            keepWork[0] = true;
            System.err.println("chaos: files kept in " + work);
            return 1;
        } finally {
            chaos[0].close();
        }
        return chaos[0].verdict() ? 0 : finalFailure(work, keepWork, sidecar[0]);
    }

    private static int finalFailure(Path work, boolean[] keepWork, SidecarProcess sidecar) {
        keepWork[0] = true;
        System.err.println("last sidecar log lines:\n" + sidecar.logTail(40));
        System.err.println("chaos: files kept in " + work);
        return 1;
    }

    /** The demo's members, one pool over all of them, short timeouts so that faults show within seconds. */
    static SidecarConfig config(SimulatedMembers members) {
        Map<String, Object> replacement = new LinkedHashMap<>();
        replacement.put("unschedulableGrace", "3s");
        replacement.put("startTimeout", "5s");
        replacement.put("creatingTimeout", "1m");
        replacement.put("backoffInitial", "60s");
        replacement.put("backoffMax", "120s");
        replacement.put("checkInterval", "500ms");
        Map<String, Object> breaker = new LinkedHashMap<>();
        breaker.put("slidingWindowSize", 10);
        breaker.put("minimumCalls", 3);
        breaker.put("failureRateThreshold", 50);
        breaker.put("waitInOpenState", "3s");
        breaker.put("halfOpenCalls", 2);
        return SidecarConfig.forMembers(members).withRayCluster("chaos", SidecarConfig.DEFAULT_HEAD_ADDRESS)
                .with("timing", Map.of("memberStartTimeout", "10s", "memberRetryInterval", "1s"))
                .with("replacement", replacement)
                .with("resilience", Map.of("breaker", breaker,
                        "retries", Map.of("maxAttempts", 2, "initialBackoff", "100ms", "maxBackoff", "500ms")))
                .withVirtualCluster(VirtualCluster.of("vc-chaos"))
                .withPool(Pool.of(POOL, "vc-chaos", Map.of("CPU", 1, "memory", "2Gi")).withMaxWorkers(100));
    }

    private void scenario() {
        begin("scale up to " + FIRST + " workers across the three clouds");
        driver.reach(FIRST, STEP_DEADLINE);
        awaitStep(FIRST + " workers up-to-date", () -> upToDate(FIRST), this::nodesSummary);
        check("workers per member: " + nodesByMember());

        begin(DOWN + "'s API server goes down");
        members.member(DOWN).stop();
        timeline.add(Kind.FAULT, DOWN, "API server stopped: connections refused");
        awaitStep(DOWN + " unreachable and its nodes stale", () -> "unreachable".equals(member(DOWN).path("state").asText())
                && !staleIds(DOWN).isEmpty() && staleIds(DOWN).size() == idsOn(DOWN).size(), () -> member(DOWN).toString());
        check(DOWN + ": " + staleIds(DOWN).size() + " nodes kept in GET /v1/nodes with stale=true");

        begin("Ray terminates " + TERMINATED + " of " + DOWN + "'s workers during the outage");
        List<String> victims = idsOn(DOWN).subList(0, Math.min(TERMINATED, idsOn(DOWN).size()));
        SidecarApi.Response r = api.terminate(victims);
        timeline.add(Kind.REQUEST, "terminate", victims.size() + " node(s) of " + DOWN + " -> " + r.status()
                + " terminating " + r.body().path("terminating").size() + ", unknown " + r.body().path("unknown").size());
        expect(r.status() == 200 && r.body().path("terminating").size() == victims.size(),
                "all " + victims.size() + " accepted for termination", r::toString);
        awaitStep("the terminated nodes gone from GET /v1/nodes", () -> victims.stream().noneMatch(idsOn(DOWN)::contains),
                () -> idsOn(DOWN).toString());
        awaitStep(DOWN + "'s breaker open (the deletes fail)", () -> watch.breakerStates(DOWN).contains("open"),
                () -> member(DOWN).toString());

        int target = FIRST - victims.size() + MORE;
        begin(STALLED + "'s scheduler stalls; Ray asks for " + MORE + " more workers while " + DOWN + " is down");
        members.kubelet().stall(STALLED, true);
        timeline.add(Kind.FAULT, STALLED, "scheduler stalled: new pods stay Pending");
        driver.reach(target, STEP_DEADLINE);
        awaitStep(target + " workers up-to-date, none left on the stalled " + STALLED,
                () -> upToDate(target) && pendingOn(STALLED) == 0, this::nodesSummary);
        check("workers per member: " + nodesByMember() + " (" + DOWN + "'s stale)");

        begin(DOWN + " comes back and " + STALLED + "'s scheduler resumes");
        members.member(DOWN).start();
        timeline.add(Kind.FAULT, DOWN, "API server back (same port, same objects)");
        members.kubelet().stall(STALLED, false);
        timeline.add(Kind.FAULT, STALLED, "scheduler resumed");
        awaitStep(DOWN + " healthy, breaker closed, nodes fresh, pending terminations done", () -> {
            JsonNode m = member(DOWN);
            return "healthy".equals(m.path("state").asText()) && "closed".equals(m.path("breaker").asText())
                    && staleIds(DOWN).isEmpty() && podIds(DOWN).stream().noneMatch(victims::contains);
        }, () -> member(DOWN) + "; pods still there: " + podIds(DOWN).stream().filter(victims::contains).toList());

        begin("final check");
        awaitStep("exactly " + target + " workers, one pod per node id, all in GET /v1/nodes",
                () -> WorkerCensus.take(members, api, POOL).problems(target).isEmpty(),
                () -> String.join("; ", WorkerCensus.take(members, api, POOL).problems(target)));
        finalTarget = target;
    }

    /** Prints the final counts per member and says whether the final state is right. */
    private boolean verdict() {
        WorkerCensus census = WorkerCensus.take(members, api, POOL);
        List<String> problems = finalTarget < 0 ? List.of("the scenario did not finish") : census.problems(finalTarget);
        timeline.print("");
        timeline.print("final counts per member:");
        TextTable table = new TextTable("member", "cloud", "state", "breaker", "worker pods", "nodes in API", "back-offs");
        Map<String, Integer> nodes = census.nodesByMember();
        for (SimulatedMember m : members.members()) {
            JsonNode c = member(m.name());
            List<String> offs = new ArrayList<>();
            c.path("backoffs").forEach(b -> offs.add(b.path("pool").asText() + " " + b.path("pauseSeconds").asLong()
                    + "s x" + b.path("failures").asInt()));
            table.row(m.name(), m.spec().cloud(), c.path("state").asText(), c.path("breaker").asText(),
                    census.podsByMember().getOrDefault(m.name(), 0), nodes.getOrDefault(m.name(), 0),
                    offs.isEmpty() ? "-" : String.join(", ", offs));
        }
        timeline.print(table.render("  ").stripTrailing());
        List<Timeline.Event> moves = timeline.events(Kind.REPLACED, null);
        Map<String, Integer> byRoute = new TreeMap<>();
        moves.forEach(e -> byRoute.merge(e.text().replaceAll(" \\(.*", ""), 1, Integer::sum));
        timeline.print("  re-placements (same node id, another member): " + (moves.isEmpty() ? "none" : byRoute));
        timeline.print("  breaker transitions seen: " + timeline.events(Kind.BREAKER, null).size()
                + "; placements: " + driver.createdIds().size() + " workers launched in " + driver.rounds().size()
                + " create calls");
        timeline.print("  " + census.summary());
        if (problems.isEmpty()) {
            timeline.print("");
            timeline.print("OK: every step behaved as expected and the final state is exactly what Ray asked for.");
            return true;
        }
        timeline.print("");
        timeline.print("FAILED: the final state is wrong:");
        problems.forEach(p -> timeline.print("  - " + p));
        return false;
    }

    private void begin(String title) {
        step++;
        timeline.print("");
        timeline.add(Kind.STEP, step + "/" + STEPS, title);
    }

    private void check(String text) {
        timeline.add(Kind.CHECK, "ok", text);
    }

    /** Waits for {@code condition}; fails the step with what {@code seen} says when it does not hold in time. */
    private void awaitStep(String what, BooleanSupplier condition, Supplier<String> seen) {
        Instant end = Instant.now().plus(STEP_DEADLINE);
        while (true) {
            try {
                if (condition.getAsBoolean()) {
                    check(what);
                    return;
                }
            } catch (RuntimeException e) {
                // a member or the sidecar not answering for a moment: look again
            }
            if (Instant.now().isAfter(end)) {
                String detail;
                try {
                    detail = seen.get();
                } catch (RuntimeException e) {
                    detail = e.toString();
                }
                throw new StepFailed("expected " + what + " within " + STEP_DEADLINE.toSeconds() + " s; saw " + detail);
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StepFailed("interrupted");
            }
        }
    }

    private void expect(boolean ok, String expected, Supplier<String> seen) {
        if (!ok) {
            throw new StepFailed("expected " + expected + ", got " + seen.get());
        }
    }

    private List<JsonNode> nodes() {
        SidecarApi.Response r = api.getNodes();
        if (r.status() != 200) {
            throw new StepFailed("expected 200 from " + r);
        }
        List<JsonNode> out = new ArrayList<>();
        r.body().path("nodes").forEach(n -> {
            if (POOL.equals(n.path("pool").asText())) {
                out.add(n);
            }
        });
        return out;
    }

    private boolean upToDate(int count) {
        List<JsonNode> nodes = nodes();
        return nodes.size() == count && nodes.stream().allMatch(n -> "up-to-date".equals(n.path("status").asText()));
    }

    private long pendingOn(String member) {
        return nodes().stream().filter(n -> member.equals(n.path("cluster").asText())
                && !"up-to-date".equals(n.path("status").asText())).count();
    }

    private List<String> idsOn(String member) {
        return nodes().stream().filter(n -> member.equals(n.path("cluster").asText())).map(n -> n.path("id").asText())
                .sorted().toList();
    }

    private List<String> staleIds(String member) {
        return nodes().stream().filter(n -> member.equals(n.path("cluster").asText()) && n.path("stale").asBoolean())
                .map(n -> n.path("id").asText()).toList();
    }

    private List<String> podIds(String member) {
        return members.member(member).workerPods().stream()
                .map(p -> p.getMetadata().getLabels().get(SimulatedFederation.NODE_ID_LABEL)).toList();
    }

    private Map<String, Integer> nodesByMember() {
        Map<String, Integer> out = new TreeMap<>();
        nodes().forEach(n -> out.merge(n.path("cluster").asText(), 1, Integer::sum));
        return out;
    }

    private String nodesSummary() {
        Map<String, Integer> out = new TreeMap<>();
        nodes().forEach(n -> out.merge(n.path("cluster").asText() + ":" + n.path("status").asText(), 1, Integer::sum));
        return out.toString();
    }

    private JsonNode member(String name) {
        for (JsonNode c : api.clusters().body().path("clusters")) {
            if (name.equals(c.path("name").asText())) {
                return c;
            }
        }
        throw new StepFailed("no member " + name + " in GET /v1/clusters");
    }

    private void close() {
        driver.close();
        watch.close();
    }

    private static void deleteTree(Path root) {
        try (java.util.stream.Stream<Path> paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // best effort: it is a temp dir
        }
    }
}
