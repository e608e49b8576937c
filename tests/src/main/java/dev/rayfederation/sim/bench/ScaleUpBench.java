package dev.rayfederation.sim.bench;

import dev.rayfederation.sim.SidecarApi;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * End-to-end scale-up: W workers requested from the sidecar the way Ray's autoscaler launches them (batches of 5, 10
 * requests in flight), over M members whose API servers answer every call {@code latency} late. Measures the time
 * from the first request until every worker's pod exists (the sidecar answers a create once its pods are created),
 * then checks the members: exactly W worker pods, one per node id. Also the sidecar's memory at W nodes.
 */
final class ScaleUpBench {

    /**
     * @param workers     workers to create in all
     * @param members     member clusters
     * @param latency     added to every call to a member's API
     * @param batch       workers per create request
     * @param concurrency create requests in flight
     * @param runs        fresh federations, one per run
     * @param label       appended to every figure id ({@code scaleup.seconds.<label>}) so that a second size can sit
     *                    in the same report as the 10,000-worker row; null for that row
     * @param server      which API server plays the members (the light one by default: fabric8's mock stalls for
     *                    seconds past some tens of thousands of pods)
     * @param rateLimit   the sidecar's requests per second per member, or null for its default (100)
     * @param targets     whether the 10,000- and 100,000-worker figures carry their targets (not for the points of the
     *                    growth curve)
     */
    record Options(int workers, int members, Duration latency, int batch, int concurrency, int runs, String label,
                   ProxiedFederation.Server server, Integer rateLimit, boolean targets) {
    }

    /** The size of the 100,000-worker row: its targets are 2 minutes and 1 GiB. */
    static final int LARGE = 100_000;

    private final BenchEnv env;
    private final Options o;
    private final Results results;

    ScaleUpBench(BenchEnv env, Options options, Results results) {
        this.env = env;
        this.o = options;
        this.results = results;
    }

    void run() throws Exception {
        List<Double> seconds = new ArrayList<>();
        List<Double> rate = new ArrayList<>();
        List<Double> p50 = new ArrayList<>();
        List<Double> p99 = new ArrayList<>();
        List<Double> retried = new ArrayList<>();
        List<Double> rss = new ArrayList<>();
        List<Double> heap = new ArrayList<>();
        List<Double> sidecarCpu = new ArrayList<>();
        List<Double> harnessCpu = new ArrayList<>();
        List<Double> atAnswer = new ArrayList<>();
        List<Double> settleSeconds = new ArrayList<>();
        List<Double> readPerPod = new ArrayList<>();
        List<Double> writtenPerPod = new ArrayList<>();
        List<Double> connections = new ArrayList<>();
        for (int run = 0; run < o.runs(); run++) {
            Path dir = env.workDir().resolve(id("scale-up")).resolve("run-" + run);
            int room = (o.workers() + o.members() - 1) / o.members();
            try (ProxiedFederation f = ProxiedFederation.start(env, id("scale-up"), o.server(), o.members(), room, o.latency(),
                    o.workers() + 100, o.rateLimit(), dir)) {
                long[] trafficBefore = f.traffic();
                double sidecarBefore = f.sidecar().cpuSeconds();
                double harnessBefore = SidecarRun.cpuSeconds(ProcessHandle.current().pid());
                Outcome out = drive(f.api(), o.workers(), o.batch(), o.concurrency(), "scale-" + run + "-");
                sidecarCpu.add(f.sidecar().cpuSeconds() - sidecarBefore);
                harnessCpu.add(SidecarRun.cpuSeconds(ProcessHandle.current().pid()) - harnessBefore);
                long[] trafficAfter = f.traffic();
                if (trafficBefore != null && trafficAfter != null) {
                    readPerPod.add((trafficAfter[0] - trafficBefore[0]) / (double) o.workers());
                    writtenPerPod.add((trafficAfter[1] - trafficBefore[1]) / (double) o.workers());
                    connections.add((double) (trafficAfter[2] - trafficBefore[2]));
                }
                seconds.add(out.nanos() / 1e9);
                rate.add(o.workers() / (out.nanos() / 1e9));
                p50.add(out.latencies().percentileMillis(50));
                p99.add(out.latencies().percentileMillis(99));
                retried.add((double) out.retriedWorkers());
                Settled settled = settle(f, out.created());
                atAnswer.add((double) settled.atAnswer());
                settleSeconds.add(settled.seconds());
                rss.add(f.sidecar().memory(false).rssMiB());
                heap.add(f.sidecar().memory(true).heapUsedMiB());
                env.memoryProfile(f.sidecar(), id("scale-up"));
                System.out.printf("bench: scale-up run %d: %d workers in %.1f s%n", run + 1, o.workers(), out.nanos() / 1e9);
            }
        }
        String how = o.workers() + " workers, " + o.members() + " members ("
                + (o.server() == ProxiedFederation.Server.LIGHT ? "light API servers" : "fabric8 mock API servers") + "), "
                + o.latency().toMillis() + " ms added to every member API call, create requests of " + o.batch() + " with "
                + o.concurrency() + " in flight; sidecar rate limit " + (o.rateLimit() == null ? "at its default (100 requests/s per member)"
                : o.rateLimit() + " requests/s per member") + "; fresh federation per run";
        boolean full = o.targets() && o.workers() >= 10_000;
        boolean large = o.targets() && o.workers() >= LARGE;
        String limit = o.rateLimit() == null ? " (the sidecar's default rate limit)" : "";
        results.add(full ? Figure.atMost(id("scaleup.seconds"), "scale-up: " + o.workers() + " workers requested → all pods created"
                + limit, "s", seconds, large ? 120 : 10, how)
                : Figure.of(id("scaleup.seconds"), "scale-up: " + o.workers() + " workers requested → all pods created" + limit, "s",
                seconds, how));
        results.add(Figure.of(id("scaleup.pods_per_s"), "scale-up: pods created per second" + limit, "pods/s", rate, how));
        results.add(Figure.of(id("scaleup.request.p50"), "scale-up: create request latency, p50", "ms", p50, how));
        results.add(Figure.of(id("scaleup.request.p99"), "scale-up: create request latency, p99", "ms", p99, how));
        results.add(Figure.of(id("scaleup.cpu.sidecar"), "scale-up: CPU time used by the sidecar", "s", sidecarCpu,
                "user + system time of the sidecar process during the scale-up (2 cores = 2 s per second)"));
        results.add(Figure.of(id("scaleup.cpu.harness"), "scale-up: CPU time used by the member API servers, proxies and driver",
                "s", harnessCpu, "user + system time of the harness JVM (" + o.members() + " member API servers, " + o.members()
                        + " latency proxies, the client)"));
        results.add(Figure.of(id("scaleup.unsettled_at_answer"), "scale-up: node ids without exactly one pod when the last create was answered",
                "count", atAnswer, "created ids with no pod or two, plus pods of ids never answered as created (unknown"
                        + " outcomes the sidecar still cleans up); the run fails unless this reaches 0 within 5 minutes"));
        results.add(Figure.of(id("scaleup.settle_seconds"), "scale-up: from the last answer until exactly one pod per created id",
                "s", settleSeconds, "nothing lost or duplicated once settled (checked); 0 when settled at once"));
        if (!readPerPod.isEmpty()) {
            results.add(Figure.of(id("scaleup.member_bytes_in_per_pod"), "scale-up: bytes the member API servers read per worker",
                    "B", readPerPod, "requests of the sidecar (pod creates, Events, lists), headers included, over TLS"));
            results.add(Figure.of(id("scaleup.member_bytes_out_per_pod"), "scale-up: bytes the member API servers sent per worker",
                    "B", writtenPerPod, "answers and watch events to the sidecar, headers included, over TLS"));
            results.add(Figure.of(id("scaleup.member_connections"), "scale-up: TLS connections the sidecar opened to the members",
                    "count", connections, "each costs a handshake; kept-alive connections are reused"));
        }
        results.add(Figure.of(id("scaleup.retried_workers"), "scale-up: workers rejected and asked again", "count", retried,
                "a rejected worker is requested again, as the autoscaler would on its next iteration"));
        results.add(full ? Figure.atMost(id("sidecar.rss.scaleup"), "sidecar RSS after the scale-up (" + o.workers() + " nodes, "
                        + o.members() + " members)", "MiB", rss, large ? 1024 : 256,
                "VmRSS; pods pending (no kubelet); JVM sized as in the Helm chart")
                : Figure.of(id("sidecar.rss.scaleup"), "sidecar RSS after the scale-up", "MiB", rss, null));
        results.add(Figure.of(id("sidecar.heap.scaleup"), "sidecar heap used after a full GC, after the scale-up", "MiB", heap,
                "jcmd GC.run then GC.heap_info"));
    }

    private String id(String base) {
        return o.label() == null ? base : base + "." + o.label();
    }

    /**
     * What {@link #drive} saw.
     *
     * @param nanos          from the first request until every create was answered
     * @param latencies      of each create request (first send to answer)
     * @param created        every worker id answered as created
     * @param retriedWorkers workers rejected and asked again
     */
    record Outcome(long nanos, Latencies latencies, List<String> created, int retriedWorkers) {
    }

    /**
     * Requests {@code workers} workers of the pool {@code cpu} the way Ray's autoscaler launches them: {@code batch}
     * per create request, {@code concurrency} requests in flight, request ids {@code <requestPrefix><n>}; a rejected
     * worker is asked again 100 ms later. Returns once every worker is created.
     */
    static Outcome drive(SidecarApi api, int workers, int batch, int concurrency, String requestPrefix) throws Exception {
        AtomicInteger remaining = new AtomicInteger(workers);
        AtomicInteger sequence = new AtomicInteger();
        AtomicInteger retried = new AtomicInteger();
        ConcurrentLinkedQueue<CreateCall> calls = new ConcurrentLinkedQueue<>();
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        long t0 = System.nanoTime();
        Duration limit = Duration.ofMinutes(Math.max(10, workers / 3_000));  // 33 at 100,000: a runaway guard only
        long deadline = t0 + limit.toNanos();
        List<Future<?>> loops = new ArrayList<>();
        for (int i = 0; i < concurrency; i++) {
            loops.add(pool.submit(() -> {
                while (System.nanoTime() < deadline) {
                    int want = take(remaining, batch);
                    if (want == 0) {
                        return;
                    }
                    CreateCall c = CreateCall.send(api, "cpu", requestPrefix + sequence.incrementAndGet(), want);
                    calls.add(c);
                    int missing = want - c.created().size();
                    if (missing > 0) {
                        retried.addAndGet(missing);
                        remaining.addAndGet(missing);
                        SidecarRun.sleep(100);
                    }
                }
                throw new IllegalStateException("scale-up did not finish within " + limit.toMinutes() + " minutes; "
                        + remaining.get() + " left");
            }));
        }
        try {
            for (Future<?> loop : loops) {
                loop.get();
            }
        } finally {
            pool.shutdownNow();
        }
        long elapsed = System.nanoTime() - t0;
        Latencies latencies = new Latencies();
        List<String> created = new ArrayList<>();
        for (CreateCall c : calls) {
            latencies.add(c.answeredNanos() - c.sentNanos());
            created.addAll(c.created());
        }
        return new Outcome(elapsed, latencies, created, retried.get());
    }

    private static int take(AtomicInteger remaining, int batch) {
        while (true) {
            int left = remaining.get();
            if (left <= 0) {
                return 0;
            }
            int want = Math.min(batch, left);
            if (remaining.compareAndSet(left, left - want)) {
                return want;
            }
        }
    }

    /**
     * What the members held against what the sidecar answered.
     *
     * @param atAnswer ids not held exactly once when the last create was answered
     * @param seconds  from then until the members held exactly one pod per created id and no other
     */
    record Settled(int atAnswer, double seconds) {
    }

    /** How far the members are from one pod per created id and none other (0: settled). */
    private static int unsettled(Map<String, List<String>> pods, Set<String> created) {
        int off = 0;
        for (String id : created) {
            List<String> where = pods.get(id);
            if (where == null || where.size() != 1) {
                off++;
            }
        }
        for (String id : pods.keySet()) {
            if (!created.contains(id)) {
                off++;
            }
        }
        return off;
    }

    /**
     * Checks that every created id is answered once and, within 5 minutes of the last answer, holds exactly one pod,
     * with no pod of any other id: a create whose outcome the sidecar could not know may leave a pod it deletes
     * afterwards (its worker asked again), which is no loss once it is gone. Fails the run otherwise, naming counts.
     */
    private Settled settle(ProxiedFederation f, List<String> created) {
        Set<String> unique = new HashSet<>(created);
        if (unique.size() != created.size() || created.size() != o.workers()) {
            throw new IllegalStateException("the sidecar answered " + created.size() + " created ids (" + unique.size()
                    + " distinct) for " + o.workers() + " workers");
        }
        long t0 = System.nanoTime();
        long deadline = t0 + Duration.ofMinutes(5).toNanos();
        int first = -1;
        while (true) {
            Map<String, List<String>> pods = f.podsByNodeId();
            int off = unsettled(pods, unique);
            if (first < 0) {
                first = off;
            }
            if (off == 0) {
                return new Settled(first, first == 0 ? 0 : (System.nanoTime() - t0) / 1e9);
            }
            if (System.nanoTime() > deadline) {
                long missing = unique.stream().filter(id -> !pods.containsKey(id)).count();
                long doubled = pods.values().stream().filter(l -> l.size() > 1).count();
                long foreign = pods.keySet().stream().filter(id -> !unique.contains(id)).count();
                throw new IllegalStateException("5 minutes after the last answer the members still hold no pod for "
                        + missing + " created ids, two or more for " + doubled + ", and pods of " + foreign
                        + " ids never answered as created (" + unique.size() + " created)");
            }
            SidecarRun.sleep(1000);
        }
    }
}
