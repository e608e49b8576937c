package dev.rayfederation.sidecar.preflight;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.render.ProbePodSpec;
import dev.rayfederation.sidecar.config.CurrentConfig;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.Cluster;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;
import dev.rayfederation.sidecar.placement.PreflightGate;
import dev.rayfederation.sidecar.provision.Failures;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The network preflight of every member: when each is probed ({@link ProbeRun}), what each last showed, and whether
 * placement may use it. A member is probed once it has synced, before it first takes workers: with {@code enforce},
 * a member whose first probe has given no verdict yet is kept out for at most {@code firstVerdictWait} from that
 * probe's start (then placed on while pending, so a slow image pull cannot stall scaling for long). It is probed
 * again at once after a reload that adds it or changes what the probe depends on (its settings, the head
 * address, the probe settings, the pool template it borrows), every {@code interval} after a pass and every
 * {@code retryInterval} after a failure or a probe that gave no verdict. With {@code enforce}, a member whose last
 * verdict is a failure takes no new workers. Runs of members removed from the configuration, or of every member
 * when the preflight is turned off or the sidecar stops, are cancelled and their pods deleted.
 */
public final class Preflights implements PreflightGate {

    private static final Logger LOG = LoggerFactory.getLogger(Preflights.class);
    private static final Duration POLL_INTERVAL = Duration.ofMillis(500);

    /** What a probe of a member depends on: any change means its last verdict no longer holds. */
    private record Inputs(Cluster cluster, String headAddress, int port, Duration timeout, String image,
                          Map<String, Object> template, Map<String, Object> override) {
    }

    private static final class Entry {
        Inputs inputs;
        PreflightResult result;
        Instant nextRun;
        Future<?> running;
        boolean leftoversDeleted;
        /** When the member's first probe started; null until then. */
        Instant firstRun;
        /** Whether any probe of the member has given a verdict (ok or failed) since it was first seen. */
        boolean judged;
    }

    private final CurrentConfig config;
    private final Map<String, MemberCluster> members;
    private final Dialer dialer;
    private final Clock clock;
    private final Map<String, Entry> entries = new HashMap<>();
    private final ExecutorService runs;
    private boolean stopped;

    public Preflights(CurrentConfig config, Map<String, MemberCluster> members, Dialer dialer, Clock clock) {
        this.config = config;
        this.members = members;
        this.dialer = dialer;
        this.clock = clock;
        AtomicInteger n = new AtomicInteger();
        this.runs = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "preflight-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Checks every second which members are due. */
    public void start(ScheduledExecutorService scheduler) {
        scheduler.scheduleWithFixedDelay(this::tick, 0, 1, TimeUnit.SECONDS);
    }

    /** Cancels every run; each deletes its pod before its thread ends (waited for, a few seconds at most). */
    public void stop() {
        synchronized (this) {
            stopped = true;
            entries.values().forEach(Preflights::cancel);
        }
        runs.shutdownNow();
        try {
            if (!runs.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("preflight: probe runs still deleting their pods at shutdown; Kubernetes ends those pods");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The last result of each member probed, by name (empty when the preflight is off). */
    public synchronized Map<String, PreflightResult> results() {
        Map<String, PreflightResult> out = new TreeMap<>();
        entries.forEach((name, e) -> out.put(name, e.result));
        return out;
    }

    @Override
    public synchronized Optional<String> excluded(String member) {
        FederationConfig.Preflight p = config.get().preflight();
        Entry e = entries.get(member);
        if (!p.enabled() || !p.enforce() || e == null) {
            return Optional.empty();
        }
        if (!e.judged && !p.firstVerdictWait().isZero()) {
            if (e.firstRun == null) {
                return Optional.of("network preflight pending (first probe not started yet); placed on once it passes, "
                        + "or firstVerdictWait after it started without a verdict");
            }
            Instant until = e.firstRun.plus(p.firstVerdictWait());
            if (clock.instant().isBefore(until)) {
                return Optional.of("network preflight pending (first probe started at " + e.firstRun
                        + "); placed on once it passes, or from " + until + " without a verdict");
            }
        }
        if (!e.result.failed()) {
            return Optional.empty();
        }
        return Optional.of("failed network preflight at " + e.result.at() + " (" + e.result.direction() + ": "
                + e.result.error() + "); retried from " + e.nextRun);
    }

    /** Starts the runs that are due; one at a time per member. */
    synchronized void tick() {
        FederationConfig c = config.get();
        if (stopped) {
            return;
        }
        if (!c.preflight().enabled()) {
            entries.values().forEach(Preflights::cancel);
            entries.clear();
            return;
        }
        Instant now = clock.instant();
        entries.keySet().removeIf(name -> {
            boolean gone = c.cluster(name).isEmpty();
            if (gone) {
                cancel(entries.get(name));
            }
            return gone;
        });
        for (Cluster cluster : c.clusters()) {
            MemberCluster member = members.get(cluster.name());
            if (member == null || !member.runsProbes()) {
                continue;
            }
            Inputs inputs = inputs(c, cluster);
            Entry e = entries.computeIfAbsent(cluster.name(), k -> new Entry());
            if (!inputs.equals(e.inputs)) {
                cancel(e);
                e.result = PreflightResult.pending(now, e.inputs == null ? "not probed yet" : "its settings changed");
                e.inputs = inputs;
                e.nextRun = now;
            }
            boolean busy = e.running != null && !e.running.isDone();
            if (!busy && member.state().placeable() && !now.isBefore(e.nextRun)) {
                launch(cluster.name(), member, e, c.preflight(), c.rayCluster().name());
            }
        }
    }

    private void launch(String name, MemberCluster member, Entry e, FederationConfig.Preflight p, String rayCluster) {
        Inputs inputs = e.inputs;
        boolean deleteLeftovers = !e.leftoversDeleted;
        e.leftoversDeleted = true;
        if (e.firstRun == null) {
            e.firstRun = clock.instant();
        }
        ProbePodSpec spec = new ProbePodSpec(podName(rayCluster), rayCluster, name, inputs.headAddress(), inputs.port(),
                inputs.timeout(), inputs.image(), inputs.template(), inputs.override());
        e.running = runs.submit(() -> {
            try {
                if (deleteLeftovers) {
                    deleteLeftovers(member);
                }
                record(name, inputs, new ProbeRun(member, spec, dialer, clock, POLL_INTERVAL).run());
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException ex) {
                LOG.warn("member {}: preflight run failed", name, ex);
                record(name, inputs, ProbeRun.Verdict.inconclusive("the run failed: " + Failures.rootMessage(ex)));
            }
        });
    }

    /** Probe pods an earlier sidecar left behind (it crashed mid-probe) are deleted before the first probe. */
    private static void deleteLeftovers(MemberCluster member) throws InterruptedException {
        try {
            int n = member.deleteProbes().toCompletableFuture().get(60, TimeUnit.SECONDS);
            if (n > 0) {
                LOG.info("member {}: deleted {} probe pod(s) left by an earlier run", member.name(), n);
            }
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            LOG.warn("member {}: cannot delete leftover probe pods: {}", member.name(), Failures.rootMessage(e));
        }
    }

    private synchronized void record(String name, Inputs inputs, ProbeRun.Verdict v) {
        Entry e = entries.get(name);
        if (e == null || !inputs.equals(e.inputs)) {
            return; // removed or changed while this run was on: its verdict is about settings no longer in force
        }
        FederationConfig.Preflight p = config.get().preflight();
        Instant now = clock.instant();
        PreflightResult before = e.result;
        if (v.conclusive()) {
            e.judged = true;
            e.result = new PreflightResult(v.state(), v.direction(), v.error(), now, now, null);
        } else {
            e.result = new PreflightResult(before.state(), before.direction(), before.error(), before.at(), now, v.note());
        }
        e.nextRun = now.plus(e.result.state() == PreflightResult.State.OK ? p.interval() : p.retryInterval());
        if (e.result.failed()) {
            LOG.warn("member {}: network preflight failed ({}: {}){}; retried at {}", name, v.direction(), v.error(),
                    p.enforce() ? ", it takes no new workers" : "", e.nextRun);
        } else if (!v.conclusive()) {
            LOG.info("member {}: network preflight gave no verdict ({}); it stays {}, retried at {}", name, v.note(),
                    e.result.state().wire(), e.nextRun);
        } else if (before.state() != PreflightResult.State.OK) {
            LOG.info("member {}: network preflight passed (worker -> head and head -> worker)", name);
        }
    }

    /** The first pool that may use the member lends the probe its image and where its pods may run. */
    private static Inputs inputs(FederationConfig c, Cluster cluster) {
        Optional<Pool> pool = c.pools().stream().filter(p -> p.clusters().contains(cluster.name())).findFirst();
        FederationConfig.Preflight p = c.preflight();
        return new Inputs(cluster, c.rayCluster().headAddress(), p.port(), p.timeout(), p.image(),
                pool.map(Pool::template).orElse(Map.of()),
                pool.map(x -> x.overrides().getOrDefault(cluster.name(), Map.of())).orElse(Map.of()));
    }

    private static String podName(String rayCluster) {
        String suffix = "-preflight-" + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
        String base = rayCluster.length() + suffix.length() > 63 ? rayCluster.substring(0, 63 - suffix.length()) : rayCluster;
        return (base.endsWith("-") ? base.substring(0, base.length() - 1) : base) + suffix;
    }

    private static void cancel(Entry e) {
        if (e != null && e.running != null) {
            e.running.cancel(true);
        }
    }
}
