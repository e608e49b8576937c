package dev.rayfederation.sidecar.placement;

import dev.rayfederation.k8s.resilience.BreakerStatus;
import dev.rayfederation.k8s.capacity.CapacityView;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.resources.Quantities;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.resources.WorkerShape;
import dev.rayfederation.sidecar.config.CurrentConfig;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.Cluster;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;
import dev.rayfederation.sidecar.registry.NodeRegistry;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The decision of what fits where: is a pool feasible at all, how many workers its quota and maxWorkers still
 * allow, which members may take them now and how much room each has, and how the pool's strategy spreads them.
 *
 * <p>Decisions read the registry, so a caller that then registers the placed nodes must hold {@link #lock()}
 * from decision to registration: that is what keeps concurrent requests from overshooting a quota or a pool's
 * maxWorkers. A live reload swaps the configuration under the same lock, so a decision reads one configuration
 * throughout and no reload can slip a quota change between a decision and its registration.
 */
public final class Placement {

    private final CurrentConfig config;
    private final Map<String, MemberCluster> members;
    private final NodeRegistry registry;
    private final CapacityBackoff backoff;
    private final WorkerShapes shapes;
    private final Cordons cordons;
    private final PreflightGate preflight;
    private final Object lock = new Object();

    public Placement(CurrentConfig config, Map<String, MemberCluster> members, NodeRegistry registry,
                     CapacityBackoff backoff, WorkerShapes shapes, Cordons cordons, PreflightGate preflight) {
        this.config = config;
        this.members = members;
        this.registry = registry;
        this.backoff = backoff;
        this.shapes = shapes;
        this.cordons = cordons;
        this.preflight = preflight;
    }

    /** Without cordons and live reloads (benchmarks). */
    public Placement(FederationConfig config, Map<String, MemberCluster> members, NodeRegistry registry,
                     CapacityBackoff backoff, WorkerShapes shapes) {
        this(new CurrentConfig(config), members, registry, backoff, shapes, new Cordons(), PreflightGate.NONE);
    }

    /** Hold this from a decision until the placed nodes are in the registry. */
    public Object lock() {
        return lock;
    }

    /**
     * What to do with a request for {@code count} workers of a pool: member → workers, and what is rejected.
     *
     * @param leftOut allowed members the network preflight kept out, and why ("m2 failed network preflight ..."),
     *                so a decision that placed elsewhere still names them; null when none
     */
    public record Decision(Map<String, Integer> plan, Rejection rejection, String leftOut) {
        public Decision(Map<String, Integer> plan, Rejection rejection) {
            this(plan, rejection, null);
        }

        public int placed() {
            return plan.values().stream().mapToInt(Integer::intValue).sum();
        }
    }

    /** Decides a request. Call with {@link #lock()} held when the result is then registered. */
    public Decision decide(Pool pool, int count) {
        Optional<Rejection> infeasible = infeasible(pool, count);
        if (infeasible.isPresent()) {
            return new Decision(Map.of(), infeasible.get());
        }
        Limit quota = quotaLimit(pool, count);
        List<Candidate> candidates = candidates(pool, quota.allowed());
        Map<String, Integer> plan = PlacementPlanner.plan(pool.strategy(), quota.allowed(), candidates);
        int placed = plan.values().stream().mapToInt(Integer::intValue).sum();
        List<String> leftOut = new ArrayList<>();
        for (String m : pool.clusters()) {
            preflight.excluded(m).ifPresent(why -> leftOut.add(m + " " + why));
        }
        return new Decision(plan, rejection(count, placed, quota, candidates, pool),
                leftOut.isEmpty() ? null : String.join("; ", leftOut));
    }

    /**
     * Where one worker of {@code pool} that must leave {@code member} could go now (quota is not consulted: the
     * worker already counts), or empty when no other member has room. Call with {@link #lock()} held.
     */
    public Optional<String> elsewhere(Pool pool, String member) {
        List<Candidate> others = candidates(pool, 1).stream().filter(c -> !c.member().equals(member)).toList();
        return PlacementPlanner.plan(pool.strategy(), 1, others).keySet().stream().findFirst();
    }

    private Optional<Rejection> infeasible(Pool pool, int count) {
        List<String> why = new ArrayList<>();
        for (String m : pool.clusters()) {
            if (members.get(m).capacity().couldEverFit(shapes.of(pool.name(), m))) {
                return Optional.empty();
            }
            why.add(m);
        }
        return Optional.of(new Rejection(count, "infeasible", "no allowed member could ever fit one worker of pool "
                + pool.name() + " (" + pool.resources() + "): none of " + why + " has a node (or static capacity) "
                + "that large matching its node selector and taints"));
    }

    private record Limit(int allowed, String why) {
    }

    private Limit quotaLimit(Pool pool, int count) {
        int allowed = count;
        String why = null;
        int live = registry.countPool(pool.name());
        int byMax = Math.max(0, pool.maxWorkers() - live);
        if (byMax < allowed) {
            allowed = byMax;
            why = "pool " + pool.name() + " has " + live + " of maxWorkers " + pool.maxWorkers();
        }
        ResourceVector quota = config.get().virtualCluster(pool.virtualCluster()).map(v -> v.quota()).orElse(ResourceVector.EMPTY);
        if (!quota.isEmpty()) {
            ResourceVector used = registry.usage(pool.virtualCluster());
            for (Map.Entry<String, Long> q : quota.milli().entrySet()) {
                long per = pool.resources().get(q.getKey());
                if (per <= 0) {
                    continue;
                }
                long room = Math.max(0, q.getValue() - used.get(q.getKey())) / per;
                if (room < allowed) {
                    allowed = (int) room;
                    why = "virtual cluster " + pool.virtualCluster() + " quota " + q.getKey() + "="
                            + Quantities.fromMilli(q.getValue()) + " with " + Quantities.fromMilli(used.get(q.getKey()))
                            + " in use";
                }
            }
        }
        return new Limit(allowed, why);
    }

    /**
     * The members that may take workers of {@code pool} now, each with its true room for the pool's shape (not
     * capped by the request: strategies compare members by it). A member whose capacity is unknown counts as having
     * room for what is wanted, no more.
     */
    private List<Candidate> candidates(Pool pool, int wanted) {
        List<Candidate> out = new ArrayList<>();
        int order = 0;
        Map<String, Integer> poolWorkers = registry.countPoolByMember(pool.name());
        for (String m : pool.clusters()) {
            order++;
            MemberCluster member = members.get(m);
            if (!member.acceptsPlacements() || backoff.active(m, pool.name()).isPresent()
                    || cordons.of(m).isPresent() || preflight.excluded(m).isPresent()) {
                continue;
            }
            Cluster cluster = config.get().cluster(m).orElseThrow();
            WorkerShape shape = shapes.of(pool.name(), m);
            CapacityView capacity = member.capacity();
            long capFit = capacity.capFit(shape, registry.memberUsage(m));
            long limit = capacity.known() ? Long.MAX_VALUE : Math.max(wanted, 1);
            long nodeFit = capacity.nodeFit(shape,
                    registry.reservations(m, r -> member.capacityCounts(r.podName(), r.bound())), limit);
            long freeNow = Math.min(nodeFit, capFit);
            long room = cluster.elastic() ? capFit : freeNow;
            if (member.breaker().state() == BreakerStatus.State.HALF_OPEN) {
                // only a few trial calls pass a half-open breaker: send no more workers than that
                long trials = config.get().resilience().breaker().halfOpenCalls();
                freeNow = Math.min(freeNow, trials);
                room = Math.min(room, trials);
            }
            out.add(new Candidate(m, freeNow, room, cluster.priority(), pricePerWorker(cluster, pool), order,
                    poolWorkers.getOrDefault(m, 0)));
        }
        return out;
    }

    static Double pricePerWorker(Cluster cluster, Pool pool) {
        if (cluster.price().isEmpty()) {
            return null;
        }
        double sum = 0;
        for (Map.Entry<String, Long> r : pool.resources().milli().entrySet()) {
            Double unitPrice = cluster.price().get(r.getKey());
            if (unitPrice == null) {
                continue;
            }
            double units = r.getValue() / 1000.0;
            if (r.getKey().equals("memory")) {
                units = units / (1L << 30); // price of memory is per GiB-hour
            }
            sum += unitPrice * units;
        }
        return sum;
    }

    private Rejection rejection(int count, int placed, Limit quota, List<Candidate> candidates, Pool pool) {
        int rejected = count - placed;
        if (rejected == 0) {
            return Rejection.NONE;
        }
        if (quota.allowed() < count) {
            return new Rejection(rejected, "quota", rejected + " of " + count + " rejected: " + quota.why());
        }
        List<String> why = new ArrayList<>();
        for (String m : pool.clusters()) {
            MemberCluster member = members.get(m);
            Optional<Candidate> c = candidates.stream().filter(x -> x.member().equals(m)).findFirst();
            Optional<CapacityBackoff.Entry> off = backoff.active(m, pool.name());
            Optional<Cordons.Cordon> cordon = cordons.of(m);
            Optional<String> preflightFailure = preflight.excluded(m);
            if (cordon.isPresent()) {
                why.add(m + " cordoned by " + cordon.get().by() + " since " + cordon.get().since()
                        + (cordon.get().reason() == null ? "" : " (" + cordon.get().reason() + ")"));
            } else if (preflightFailure.isPresent()) {
                why.add(m + " " + preflightFailure.get());
            } else if (off.isPresent()) {
                why.add(m + " backing off until " + off.get().until() + " (" + off.get().reason() + ")");
            } else if (c.isEmpty() && member.breaker().state() == BreakerStatus.State.OPEN) {
                why.add(m + " breaker " + member.breaker().scope() + " open since " + member.breaker().since()
                        + (member.breaker().reason() == null ? "" : " (" + member.breaker().reason() + ")"));
            } else if (c.isEmpty()) {
                why.add(m + " " + member.state().wire() + (member.stateReason() == null ? "" : " (" + member.stateReason() + ")"));
            } else {
                why.add(m + " has room for " + c.get().freeNow());
            }
        }
        return new Rejection(rejected, "unavailable", rejected + " of " + count + " rejected: no capacity now: "
                + String.join("; ", why));
    }
}
