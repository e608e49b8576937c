package dev.rayfederation.sim.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Whole-process benchmarks of the project's performance targets (bench/README.md) (run by {@code scripts/bench}): mock member API servers (HTTPS, optionally
 * behind a latency-injecting proxy), the sidecar jar as a process, and for the read path Ray's own KubeRay provider
 * next to the plugin (a Python driver). Writes the figures of one scenario as JSON.
 *
 * <pre>
 * java -cp tests/target/ray-federation-sim-all.jar dev.rayfederation.sim.bench.BenchMain
 *      --scenario read-path|scale-up|growth|real-scale-up|outage --out FILE.json --work DIR --sidecar-jar JAR
 *      [--runs N] [--sizes 100,1000,10000] [--requests 200] [--plugin-iterations 20]
 *      [--python VENV/bin/python --plugin-driver bench/python/plugin_iteration.py] [--startup-runs 3]
 *      [--workers 10000] [--members 3] [--latency 20ms] [--batch 5] [--concurrency 10] [--label w100000]
 *      [--outages down,blackhole,answers_lost] [--preload 60] [--observe 20s] [--settle 120s]
 *      [--rate-limit N] [--member-server light|mock] [--no-targets] [--jvm-arg ARG]... [--jfr DIR]
 * </pre>
 *
 * {@code real-scale-up} runs against real member control planes ({@code scripts/lib/kube-member}) and needs the
 * Kubernetes binaries built by {@code scripts/lib/kube-binaries}; it never builds them. {@code --rate-limit} sets the
 * sidecar's requests per second per member there and in {@code scale-up} (default: the sidecar's own).
 * {@code --no-targets}: the scale-up's figures carry no target (a variant of a target row, not the row itself).
 */
public final class BenchMain {

    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        String scenario = null;
        Path out = null;
        Path work = null;
        Path jar = null;
        Path python = null;
        Path driver = null;
        Path jfr = null;
        int runs = 3;
        List<Integer> sizes = List.of(100, 1_000, 10_000);
        int requests = 200;
        int pluginIterations = 20;
        int startupRuns = 3;
        int workers = 10_000;
        int members = 3;
        Duration latency = Duration.ofMillis(20);
        int batch = 5;
        int concurrency = 10;
        String label = null;
        List<LatencyProxy.Outage> outages = List.of(LatencyProxy.Outage.DOWN, LatencyProxy.Outage.BLACKHOLE);
        int preload = 60;
        Duration observe = Duration.ofSeconds(20);
        Duration settle = Duration.ofSeconds(120);
        Integer rateLimit = null;
        boolean targets = true;
        ProxiedFederation.Server memberServer = ProxiedFederation.Server.LIGHT;
        List<String> jvmArgs = new ArrayList<>(SidecarRun.CHART_JVM);
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--scenario" -> scenario = value(args, ++i, a);
                case "--out" -> out = Path.of(value(args, ++i, a));
                case "--work" -> work = Path.of(value(args, ++i, a));
                case "--sidecar-jar" -> jar = Path.of(value(args, ++i, a));
                case "--python" -> python = Path.of(value(args, ++i, a));
                case "--plugin-driver" -> driver = Path.of(value(args, ++i, a));
                case "--jfr" -> jfr = Path.of(value(args, ++i, a));
                case "--runs" -> runs = positive(value(args, ++i, a), a);
                case "--sizes" -> sizes = Arrays.stream(value(args, ++i, a).split(",")).map(s -> positive(s.trim(), "--sizes")).sorted().toList();
                case "--requests" -> requests = positive(value(args, ++i, a), a);
                case "--plugin-iterations" -> pluginIterations = positive(value(args, ++i, a), a);
                case "--startup-runs" -> startupRuns = positive(value(args, ++i, a), a);
                case "--workers" -> workers = positive(value(args, ++i, a), a);
                case "--members" -> members = positive(value(args, ++i, a), a);
                case "--latency" -> latency = duration(value(args, ++i, a), a);
                case "--batch" -> batch = positive(value(args, ++i, a), a);
                case "--concurrency" -> concurrency = positive(value(args, ++i, a), a);
                case "--label" -> label = value(args, ++i, a);
                case "--outages" -> outages = Arrays.stream(value(args, ++i, a).split(","))
                        .map(s -> LatencyProxy.Outage.valueOf(s.trim().toUpperCase())).toList();
                case "--preload" -> preload = positive(value(args, ++i, a), a);
                case "--observe" -> observe = duration(value(args, ++i, a), a);
                case "--settle" -> settle = duration(value(args, ++i, a), a);
                case "--rate-limit" -> rateLimit = positive(value(args, ++i, a), a);
                case "--no-targets" -> targets = false;
                case "--member-server" -> memberServer = ProxiedFederation.Server.parse(value(args, ++i, a));
                case "--jvm-arg" -> jvmArgs.add(value(args, ++i, a));
                default -> fail("unknown argument '" + a + "'");
            }
        }
        if (scenario == null || out == null || work == null || jar == null) {
            fail("--scenario, --out, --work and --sidecar-jar are required");
        }
        if ((python == null) != (driver == null)) {
            fail("--python and --plugin-driver go together");
        }
        Files.createDirectories(work);
        if (jfr != null) {
            Files.createDirectories(jfr);
        }
        BenchEnv env = new BenchEnv(work, jar, jvmArgs, jfr);
        Results results = new Results(scenario).parameter("runs", runs).parameter("sidecarJvm", jvmArgs);
        try {
            run(scenario, env, results, sizes, runs, requests, pluginIterations, python, driver, startupRuns, workers, members,
                    latency, batch, concurrency, label, outages, preload, observe, settle, rateLimit, memberServer, targets);
        } catch (Exception | Error e) {
            results.parameter("failure", e.toString());
            results.write(out);
            System.err.println("BenchMain: scenario " + scenario + " failed; figures so far written to " + out);
            e.printStackTrace();
            System.exit(1);
        }
        results.write(out);
        System.out.println("bench: wrote " + out);
        System.exit(0);
    }

    private static void run(String scenario, BenchEnv env, Results results, List<Integer> sizes, int runs, int requests,
                            int pluginIterations, Path python, Path driver, int startupRuns, int workers, int members,
                            Duration latency, int batch, int concurrency, String label, List<LatencyProxy.Outage> outages, int preload,
                            Duration observe, Duration settle, Integer rateLimit, ProxiedFederation.Server memberServer,
                            boolean targets)
            throws Exception {
        switch (scenario) {
            case "read-path" -> {
                results.parameter("sizes", sizes).parameter("requests", requests).parameter("pluginIterations", pluginIterations);
                new ReadPathBench(env, new ReadPathBench.Options(sizes, runs, requests, pluginIterations, python, driver,
                        startupRuns), results).run();
            }
            case "scale-up" -> {
                results.parameter("workers", workers).parameter("members", members).parameter("latencyMs", latency.toMillis())
                        .parameter("batch", batch).parameter("concurrency", concurrency).parameter("label", label)
                        .parameter("memberServer", memberServer.name().toLowerCase()).parameter("rateLimit", rateLimit);
                new ScaleUpBench(env, new ScaleUpBench.Options(workers, members, latency, batch, concurrency, runs, label,
                        memberServer, rateLimit, targets), results).run();
            }
            case "growth" -> {
                // the growth curve: one scale-up per size in --sizes, figures labelled g<size>
                results.parameter("sizes", sizes).parameter("members", members).parameter("latencyMs", latency.toMillis())
                        .parameter("batch", batch).parameter("concurrency", concurrency)
                        .parameter("memberServer", memberServer.name().toLowerCase()).parameter("rateLimit", rateLimit);
                for (int size : sizes) {
                    System.out.printf("bench: growth: %d workers%n", size);
                    new ScaleUpBench(env, new ScaleUpBench.Options(size, members, latency, batch, concurrency, runs, "g" + size,
                            memberServer, rateLimit, false), results).run();
                }
            }
            case "real-scale-up" -> {
                results.parameter("workers", workers).parameter("members", members).parameter("batch", batch)
                        .parameter("concurrency", concurrency).parameter("rateLimit", rateLimit).parameter("label", label);
                new RealScaleUpBench(env, new RealScaleUpBench.Options(workers, members, batch, concurrency, runs, rateLimit,
                        label), results).run();
            }
            case "outage" -> {
                results.parameter("modes", outages).parameter("preload", preload).parameter("latencyMs", latency.toMillis())
                        .parameter("observeS", observe.toSeconds());
                new OutageBench(env, new OutageBench.Options(outages, runs, preload, latency, observe, settle), results).run();
            }
            default -> fail("--scenario: unknown '" + scenario + "' (known: read-path, scale-up, growth, real-scale-up, outage)");
        }
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) {
            fail(flag + " needs a value");
        }
        return args[i];
    }

    private static int positive(String text, String flag) {
        try {
            int v = Integer.parseInt(text);
            if (v < 1) {
                fail(flag + ": must be >= 1, got " + v);
            }
            return v;
        } catch (NumberFormatException e) {
            fail(flag + ": '" + text + "' is not a whole number");
            return 0;
        }
    }

    private static Duration duration(String text, String flag) {
        try {
            if (text.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(text.substring(0, text.length() - 2)));
            }
            if (text.endsWith("s")) {
                return Duration.ofMillis(Math.round(Double.parseDouble(text.substring(0, text.length() - 1)) * 1000));
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        fail(flag + ": '" + text + "' is not a duration like 20ms or 5s");
        return Duration.ZERO;
    }

    private static void fail(String message) {
        System.err.println("BenchMain: " + message);
        System.exit(2);
    }
}
