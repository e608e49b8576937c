package dev.rayfederation.sim.bench;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A member outage under a steady stream of launches: three members (20 ms API latency), some workers on each, then
 * one create request of 5 workers every 100 ms (one in flight, as an autoscaler launcher thread) while member 0's API
 * goes away ({@link LatencyProxy.Outage#DOWN}: connections reset; {@link LatencyProxy.Outage#BLACKHOLE}: nothing
 * answers; {@link LatencyProxy.Outage#ANSWERS_LOST}: requests arrive, answers do not). Measures from the outage to:
 * <ul>
 *   <li>its breaker shown open in {@code GET /v1/clusters} (polled every 25 ms), and to its state unreachable;</li>
 *   <li>new launches landing elsewhere: the answer to the first request from which on every request is fully
 *       created, with no worker left pending and every worker's pod on another member (where it is once settled).</li>
 * </ul>
 * Then heals the member and checks, once things settle: every worker answered as created (and not pending) is still
 * listed by the sidecar and has exactly one pod (none lost, none duplicated), and no pod is left that the sidecar does
 * not list. Workers answered as pending are counted: they end adopted (listed, one pod) or forgotten with no pod.
 */
final class OutageBench {

    /**
     * @param modes    outage kinds to measure
     * @param runs     fresh federations per kind
     * @param preload  workers created before the outage
     * @param observe  how long launches go on after the outage starts
     * @param settle   how long the healed federation may take to converge
     */
    record Options(List<LatencyProxy.Outage> modes, int runs, int preload, Duration latency, Duration observe, Duration settle) {
    }

    private static final int BATCH = 5;
    private static final long INTERVAL_MS = 100;

    private final BenchEnv env;
    private final Options o;
    private final Results results;

    OutageBench(BenchEnv env, Options options, Results results) {
        this.env = env;
        this.o = options;
        this.results = results;
    }

    void run() throws Exception {
        for (LatencyProxy.Outage mode : o.modes()) {
            String m = mode.name().toLowerCase();
            List<Double> open = new ArrayList<>();
            List<Double> unreachable = new ArrayList<>();
            List<Double> elsewhere = new ArrayList<>();
            List<Double> rejected = new ArrayList<>();
            List<Double> pending = new ArrayList<>();
            List<Double> lost = new ArrayList<>();
            List<Double> duplicated = new ArrayList<>();
            List<Double> orphans = new ArrayList<>();
            for (int run = 0; run < o.runs(); run++) {
                Path dir = env.workDir().resolve("outage-" + m).resolve("run-" + run);
                try (ProxiedFederation f = ProxiedFederation.start(env, "outage-" + m, 3, o.preload() + 2000, o.latency(),
                        100_000, dir)) {
                    RunOutcome r = once(f, mode, run);
                    open.add(r.breakerOpenS());
                    unreachable.add(r.unreachableS());
                    elsewhere.add(r.elsewhereS());
                    rejected.add((double) r.rejected());
                    pending.add((double) r.pending());
                    lost.add((double) r.lost());
                    duplicated.add((double) r.duplicated());
                    orphans.add((double) r.orphans());
                    System.out.printf("bench: outage %s run %d: breaker open %.2f s, unreachable %.2f s, elsewhere %.2f s, "
                                    + "pending %d, lost %d, duplicated %d, orphans %d%n", m, run + 1, r.breakerOpenS(),
                            r.unreachableS(), r.elsewhereS(), r.pending(), r.lost(), r.duplicated(), r.orphans());
                }
            }
            String how = "member 0 of 3 " + switch (mode) {
                case DOWN -> "resets every connection (API server gone)";
                case BLACKHOLE -> "holds connections and answers nothing (network partition)";
                case ANSWERS_LOST -> "holds connections, takes requests and answers nothing (partition of the way back)";
                case NONE -> throw new IllegalArgumentException("outage: NONE is no outage");
            } + " while a create of " + BATCH
                    + " is sent every " + INTERVAL_MS + " ms, one in flight; " + o.latency().toMillis() + " ms API latency; "
                    + "NaN = not seen within " + o.observe().toSeconds() + " s";
            results.add(Figure.atMost("outage." + m + ".breaker_open_s", "outage (" + m + "): breaker open", "s", open, 5, how));
            results.add(Figure.atMost("outage." + m + ".unreachable_s", "outage (" + m + "): member state unreachable", "s",
                    unreachable, 5, how));
            results.add(Figure.atMost("outage." + m + ".elsewhere_s", "outage (" + m + "): new launches land elsewhere", "s",
                    elsewhere, 5, how + "; time to the answer of the first request from which on all are fully created, "
                            + "none pending, every pod on another member"));
            results.add(Figure.of("outage." + m + ".rejected_workers", "outage (" + m + "): workers rejected meanwhile", "count",
                    rejected, "the autoscaler would ask again"));
            results.add(Figure.of("outage." + m + ".pending_workers", "outage (" + m + "): workers answered as pending",
                    "count", pending, "created, but the pod not confirmed by the create deadline: listed until the member "
                            + "confirms the pod (adopted) or its absence (forgotten)"));
            results.add(Figure.atMost("outage." + m + ".lost", "outage (" + m + "): workers lost", "count", lost, 0,
                    "answered as created (not pending) but no longer listed by the sidecar or without a pod, after healing and settling"));
            results.add(Figure.atMost("outage." + m + ".duplicated", "outage (" + m + "): workers with more than one pod",
                    "count", duplicated, 0, "after healing and settling"));
            results.add(Figure.atMost("outage." + m + ".orphans", "outage (" + m + "): pods the sidecar does not list",
                    "count", orphans, 0, "after healing and settling (" + o.settle().toSeconds() + " s at most)"));
        }
    }

    private record RunOutcome(double breakerOpenS, double unreachableS, double elsewhereS, int rejected, int pending,
                              int lost, int duplicated, int orphans) {
    }

    private RunOutcome once(ProxiedFederation f, LatencyProxy.Outage mode, int run) throws Exception {
        Set<String> expected = new HashSet<>();
        for (int i = 0; i < o.preload() / BATCH; i++) {
            CreateCall c = CreateCall.send(f.api(), "cpu", "pre-" + run + "-" + i, BATCH);
            expected.addAll(c.created());
        }
        String victim = f.members().get(0).name();
        List<CreateCall> calls = new CopyOnWriteArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        Thread launcher = new Thread(() -> {
            int i = 0;
            while (!stop.get()) {
                long next = System.nanoTime() + INTERVAL_MS * 1_000_000;
                calls.add(CreateCall.send(f.api(), "cpu", "out-" + run + "-" + i++, BATCH));
                long wait = (next - System.nanoTime()) / 1_000_000;
                if (wait > 0) {
                    SidecarRun.sleep(wait);
                }
            }
        }, "bench-launcher");
        launcher.start();
        SidecarRun.sleep(2_000);
        AtomicLong openAt = new AtomicLong(-1);
        AtomicLong unreachableAt = new AtomicLong(-1);
        long t0 = System.nanoTime();
        f.proxy(0).outage(mode);
        long end = t0 + o.observe().toNanos();
        while (System.nanoTime() < end) {
            try {
                for (JsonNode c : f.api().clusters().body().path("clusters")) {
                    if (victim.equals(c.path("name").asText())) {
                        long now = System.nanoTime();
                        if ("open".equals(c.path("breaker").asText())) {
                            openAt.compareAndSet(-1, now);
                        }
                        if ("unreachable".equals(c.path("state").asText())) {
                            unreachableAt.compareAndSet(-1, now);
                        }
                    }
                }
            } catch (RuntimeException e) {
                // the sidecar did not answer this poll; the next one may
            }
            SidecarRun.sleep(25);
        }
        stop.set(true);
        launcher.join(Duration.ofMinutes(2).toMillis());
        int rejected = 0;
        Set<String> pending = new HashSet<>();
        for (CreateCall c : calls) {
            expected.addAll(c.created());
            pending.addAll(c.pending());
            if (c.sentNanos() >= t0) {
                rejected += c.count() - c.created().size();
            }
        }
        expected.removeAll(pending);
        f.proxy(0).outage(LatencyProxy.Outage.NONE);
        Settled s = settle(f, expected, pending);
        Map<String, List<String>> pods = f.podsByNodeId();
        long stableFrom = -1;
        for (CreateCall c : calls) {
            if (c.sentNanos() < t0) {
                continue;
            }
            boolean elsewhere = c.complete() && c.pending().isEmpty()
                    && c.created().stream().allMatch(id -> pods.containsKey(id) && !pods.get(id).contains(victim));
            if (!elsewhere) {
                stableFrom = -1;
            } else if (stableFrom < 0) {
                stableFrom = c.answeredNanos();
            }
        }
        return new RunOutcome(seconds(openAt.get(), t0), seconds(unreachableAt.get(), t0), seconds(stableFrom, t0),
                rejected, pending.size(), s.lost(), s.duplicated(), s.orphans());
    }

    private record Settled(int lost, int duplicated, int orphans) {
    }

    /**
     * Waits (up to the settle time) for no lost, duplicated or orphan workers, and for every pending worker to be
     * settled (listed with its pod, or gone with none); returns the last counts.
     */
    private Settled settle(ProxiedFederation f, Set<String> expected, Set<String> pending) {
        long deadline = System.nanoTime() + o.settle().toNanos();
        Settled last = null;
        while (System.nanoTime() < deadline) {
            try {
                Set<String> listed = new HashSet<>();
                for (JsonNode n : f.api().getNodes().body().path("nodes")) {
                    listed.add(n.path("id").asText());
                }
                Map<String, List<String>> pods = f.podsByNodeId();
                int lost = 0;
                for (String id : expected) {
                    if (!listed.contains(id) || !pods.containsKey(id)) {
                        lost++;
                    }
                }
                int duplicated = (int) pods.values().stream().filter(l -> l.size() > 1).count();
                int orphans = (int) pods.keySet().stream().filter(id -> !listed.contains(id)).count();
                boolean pendingSettled = pending.stream().allMatch(id -> listed.contains(id) == pods.containsKey(id));
                last = new Settled(lost, duplicated, orphans);
                if (lost == 0 && duplicated == 0 && orphans == 0 && pendingSettled) {
                    return last;
                }
            } catch (RuntimeException e) {
                // a member or the sidecar is still recovering: look again
            }
            SidecarRun.sleep(1_000);
        }
        if (last == null) {
            throw new IllegalStateException("could not read the sidecar's nodes or the members' pods after the outage");
        }
        return last;
    }

    private static double seconds(long at, long t0) {
        return at < 0 ? Double.NaN : (at - t0) / 1e9;
    }
}
