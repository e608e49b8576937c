package dev.rayfederation.sidecar.federation;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.sidecar.config.CurrentConfig;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.Cluster;
import dev.rayfederation.sidecar.config.LiveChanges;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.placement.Cordons;
import dev.rayfederation.sidecar.provision.Failures;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Puts a new configuration in force without a restart, or refuses it whole with every problem listed (the old one
 * stays). Members added are connected and followed, and taken into placement once they have synced (a member
 * syncing does not accept placements). Members removed take no new workers at once; their workers stay until Ray
 * terminates them, and the member is forgotten when the last one is gone ({@link #forgetRetired}). Everything else
 * is read through {@link CurrentConfig} and applies to what is decided from then on.
 */
public final class Reconfiguration {

    private static final Logger LOG = LoggerFactory.getLogger(Reconfiguration.class);

    /** How the last reload went. */
    public enum Outcome {
        APPLIED, UNCHANGED, REFUSED;

        public String wire() {
            return name().toLowerCase();
        }
    }

    /**
     * The configuration in force and the last reload attempt.
     *
     * @param problems why the last reload was refused (empty otherwise)
     */
    public record Status(long generation, Instant since, Instant lastAttempt, Outcome lastOutcome, List<String> problems) {
    }

    /** A member removed from the configuration whose workers are not all gone: its last settings, and since when. */
    public record Removed(Cluster settings, Instant since) {
    }

    private final CurrentConfig config;
    private final LiveMembers members;
    private final Object placementLock;
    private final NodeRegistry registry;
    private final Cordons cordons;
    private final Function<Cluster, MemberCluster> connect;
    private final Consumer<MemberCluster> follow;
    private final FederationMetrics metrics;
    private final Clock clock;
    private final Map<String, Removed> removed = new LinkedHashMap<>();
    private volatile Status status;

    Reconfiguration(CurrentConfig config, LiveMembers members, Object placementLock, NodeRegistry registry,
                    Cordons cordons, Function<Cluster, MemberCluster> connect, Consumer<MemberCluster> follow,
                    FederationMetrics metrics, Clock clock) {
        this.config = config;
        this.members = members;
        this.placementLock = placementLock;
        this.registry = registry;
        this.cordons = cordons;
        this.connect = connect;
        this.follow = follow;
        this.metrics = metrics;
        this.clock = clock;
        CurrentConfig.Generation g = config.generation();
        this.status = new Status(g.number(), g.since(), null, null, List.of());
    }

    public Status status() {
        return status;
    }

    /** Members removed from the configuration whose workers are not all gone yet, in the order they were removed. */
    public synchronized Map<String, Removed> removed() {
        return new LinkedHashMap<>(removed);
    }

    /** A file that could not be loaded (unreadable, or invalid): refused, nothing changes. */
    public synchronized Status refuse(List<String> problems) {
        return finish(Outcome.REFUSED, problems);
    }

    /** Applies {@code next}, or refuses it whole. One reload at a time. */
    public synchronized Status apply(FederationConfig next) {
        FederationConfig old = config.get();
        List<String> problems = new ArrayList<>(LiveChanges.refusals(old, next));
        for (int i = 0; i < next.clusters().size(); i++) {
            Cluster c = next.clusters().get(i);
            Removed gone = removed.get(c.name());
            if (gone != null && !gone.settings().equals(c)) {
                problems.add("clusters[" + i + "]: member " + c.name() + " was removed and still has workers; add it back "
                        + "with its former settings, or once its workers are gone");
            }
        }
        if (!problems.isEmpty()) {
            return finish(Outcome.REFUSED, problems);
        }
        LiveChanges.Summary summary = LiveChanges.summary(old, next);
        if (summary.isEmpty() && old.equals(next)) {
            return finish(Outcome.UNCHANGED, List.of());
        }
        List<MemberCluster> connected = new ArrayList<>();
        for (int i = 0; i < next.clusters().size(); i++) {
            Cluster c = next.clusters().get(i);
            if (members.containsKey(c.name())) {
                continue;
            }
            try {
                connected.add(connect.apply(c));
            } catch (RuntimeException e) {
                problems.add("clusters[" + i + "]: cannot set up member " + c.name() + ": " + Failures.rootMessage(e));
            }
        }
        if (!problems.isEmpty()) {
            connected.forEach(MemberCluster::close);
            return finish(Outcome.REFUSED, problems);
        }
        CurrentConfig.Generation g;
        synchronized (placementLock) {
            connected.forEach(members::add);
            g = config.replace(next);
        }
        for (MemberCluster m : connected) {
            follow.accept(m);
            m.start().whenComplete((v, e) -> {
                if (e == null) {
                    LOG.info("member {} added live has synced; it takes workers from now on", m.name());
                } else {
                    LOG.warn("member {} added live is unreachable ({}); it is left out of placement and retried",
                            m.name(), Failures.rootMessage(e));
                }
            });
        }
        for (String name : summary.removedMembers()) {
            removed.put(name, new Removed(old.cluster(name).orElseThrow(), g.since()));
        }
        summary.addedMembers().forEach(removed::remove);
        LOG.info("configuration generation {} in force: {}", g.number(), summary);
        for (String name : summary.removedMembers()) {
            LOG.info("member {} removed: it takes no new workers; its {} worker(s) stay until Ray terminates them, "
                    + "then it is forgotten", name, workersOn(name));
        }
        forgetRetired();
        return finish(Outcome.APPLIED, List.of());
    }

    /** Forgets members removed from the configuration once none of their workers is left. */
    public synchronized void forgetRetired() {
        for (String name : List.copyOf(removed.keySet())) {
            if (workersOn(name) > 0) {
                continue;
            }
            MemberCluster m;
            synchronized (placementLock) {
                m = members.get(name);
                members.remove(name);
            }
            removed.remove(name);
            cordons.uncordon(name);
            try {
                if (m != null) {
                    m.close();
                }
            } catch (RuntimeException e) {
                LOG.warn("closing member {}: {}", name, e.getMessage());
            }
            LOG.info("member {} removed from the configuration has no workers left; forgotten", name);
        }
    }

    private long workersOn(String member) {
        return registry.all().stream().map(NodeRecord::member).filter(member::equals).count();
    }

    private Status finish(Outcome outcome, List<String> problems) {
        CurrentConfig.Generation g = config.generation();
        status = new Status(g.number(), g.since(), clock.instant(), outcome, List.copyOf(problems));
        metrics.configReload(outcome.wire(), g.config());
        if (outcome == Outcome.REFUSED) {
            StringBuilder sb = new StringBuilder();
            problems.forEach(p -> sb.append("\n  - ").append(p));
            LOG.warn("configuration refused ({} problem{}); generation {} stays in force:{}", problems.size(),
                    problems.size() == 1 ? "" : "s", g.number(), sb);
        }
        return status;
    }
}
