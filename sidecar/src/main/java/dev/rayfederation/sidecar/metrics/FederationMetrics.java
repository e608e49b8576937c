package dev.rayfederation.sidecar.metrics;

import dev.rayfederation.k8s.capacity.CapacityView;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.member.MemberState;
import dev.rayfederation.sidecar.antray.AntRaySync;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import dev.rayfederation.sidecar.registry.RayTags;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Every metric the sidecar exposes on /metrics, with the Prometheus Java client 1.x. Names are prefixed
 * {@code ray_federation_}; labels are bounded (member, cloud, pool, virtual cluster, reason, outcome, route),
 * never a node id or a request id. Gauges about state are computed at scrape time from the registry and the
 * members, so they can never drift from what the API reports.
 *
 * <p>Counters are present at zero for every label set known from the configuration (pools, members, reasons,
 * outcomes) from the first scrape on, so {@code rate()} and alerts work before the first event. The registry
 * also carries {@code ray_federation_build_info{version}} and, once {@link #observe} is called (the sidecar
 * process does), the Prometheus client's own JVM and process metrics ({@code jvm_*}, {@code process_*}).
 */
public final class FederationMetrics {

    /** Outcomes of create calls (label {@code outcome} of {@code ray_federation_create_requests_total}). */
    public static final List<String> CREATE_OUTCOMES =
            List.of("created", "partial", "rejected", "replay", "conflict", "invalid", "failed");
    /** Why workers were not created (label {@code reason} of {@code ray_federation_rejected_workers_total}). */
    public static final List<String> REJECTION_REASONS = List.of("quota", "infeasible", "unavailable");
    /** Why workers left without Ray asking (label {@code reason} of {@code ray_federation_worker_losses_total}). */
    public static final List<String> LOSS_REASONS = List.of("deleted", "evicted", "failed", "gone");
    /** Outcomes of terminate calls, per node id (label {@code outcome} of {@code ray_federation_terminations_total}). */
    public static final List<String> TERMINATION_OUTCOMES = List.of("terminating", "unknown");
    /** Operations timed against member API servers (see {@code MemberCallObserver#operation}). */
    public static final List<String> MEMBER_OPERATIONS =
            List.of("create_pod", "delete_pod", "patch_pod", "version", "access_check", "other");
    /** Outcomes of configuration reloads (label {@code outcome} of {@code ray_federation_config_reloads_total}). */
    public static final List<String> RELOAD_OUTCOMES = List.of("applied", "unchanged", "refused");
    /** Kinds of failed member API calls (label {@code kind} of {@code ray_federation_member_api_errors_total}). */
    public static final List<String> MEMBER_ERROR_KINDS = List.of("rejected", "failure");

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter createRequests;
    private final Counter workersCreated;
    private final Counter workersRejected;
    private final Counter terminations;
    private final Counter podEvents;
    private final Counter replacements;
    private final Histogram httpLatency;
    private final Histogram memberCallLatency;
    private final Counter memberCallErrors;
    private final Counter kubeEvents;
    private final Counter configReloads;
    private volatile LongSupplier lastChange = () -> 0L;
    private volatile Counter antRayErrors;

    public FederationMetrics() {
        createRequests = Counter.builder().name("ray_federation_create_requests_total")
                .help("Create calls by pool and outcome (created, partial, rejected, replay, conflict, invalid, failed)")
                .labelNames("pool", "outcome").register(registry);
        workersCreated = Counter.builder().name("ray_federation_placements_total")
                .help("Workers placed and created, by pool and member").labelNames("pool", "member").register(registry);
        workersRejected = Counter.builder().name("ray_federation_rejected_workers_total")
                .help("Workers asked for but not created, by pool and reason (quota, infeasible, unavailable)")
                .labelNames("pool", "reason").register(registry);
        terminations = Counter.builder().name("ray_federation_terminations_total")
                .help("Node ids in terminate calls, by outcome (terminating, unknown)").labelNames("outcome").register(registry);
        podEvents = Counter.builder().name("ray_federation_worker_losses_total")
                .help("Workers that left without Ray asking (deleted, evicted, failed), by member and reason")
                .labelNames("member", "reason").register(registry);
        replacements = Counter.builder().name("ray_federation_replacements_total")
                .help("Workers moved to another member because they did not come up, by pool and the member left")
                .labelNames("pool", "member").register(registry);
        httpLatency = Histogram.builder().name("ray_federation_http_request_duration_seconds")
                .help("Node-provider API latency by route, method and status code")
                .classicUpperBounds(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
                .labelNames("route", "method", "code").register(registry);
        memberCallLatency = Histogram.builder().name("ray_federation_member_api_call_duration_seconds")
                .help("Calls to member Kubernetes API servers, by member and operation")
                .classicUpperBounds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
                .labelNames("member", "operation").register(registry);
        memberCallErrors = Counter.builder().name("ray_federation_member_api_errors_total")
                .help("Failed calls to member Kubernetes API servers, by member, operation and kind (rejected: a 4xx caused by our request; failure: no answer, 408, 429, 5xx)")
                .labelNames("member", "operation", "kind").register(registry);
        kubeEvents = Counter.builder().name("ray_federation_kubernetes_events_total")
                .help("Kubernetes Events the sidecar wanted to post on worker pods, by member and outcome (posted, dropped: rate limit, no-pod, failed)")
                .labelNames("member", "outcome").register(registry);
        configReloads = Counter.builder().name("ray_federation_config_reloads_total")
                .help("Reloads of the configuration file, by outcome (applied, unchanged, refused: the old configuration stays)")
                .labelNames("outcome").register(registry);
        Info.builder().name("ray_federation_build_info")
                .help("Always 1; the sidecar's version as a label")
                .labelNames("version").register(registry).addLabelValues(version());
        for (String outcome : TERMINATION_OUTCOMES) {
            terminations.labelValues(outcome);
        }
    }

    /** The sidecar's version from its jar's manifest ({@code Implementation-Version}), "unknown" when not run from the jar. */
    public static String version() {
        String v = FederationMetrics.class.getPackage().getImplementationVersion();
        return v == null || v.isBlank() ? "unknown" : v;
    }

    /** Creates every counter series known from the configuration, at zero. */
    private void initialiseCounters(FederationConfig config) {
        for (FederationConfig.Pool pool : config.pools()) {
            for (String outcome : CREATE_OUTCOMES) {
                createRequests.labelValues(pool.name(), outcome);
            }
            for (String reason : REJECTION_REASONS) {
                workersRejected.labelValues(pool.name(), reason);
            }
            for (String member : pool.clusters()) {
                workersCreated.labelValues(pool.name(), member);
                replacements.labelValues(pool.name(), member);
            }
        }
        for (FederationConfig.Cluster member : config.clusters()) {
            for (String reason : LOSS_REASONS) {
                podEvents.labelValues(member.name(), reason);
            }
            for (String outcome : List.of("posted", "dropped", "no-pod", "failed")) {
                kubeEvents.labelValues(member.name(), outcome);
            }
            for (String operation : MEMBER_OPERATIONS) {
                for (String kind : MEMBER_ERROR_KINDS) {
                    memberCallErrors.labelValues(member.name(), operation, kind);
                }
            }
        }
    }

    /**
     * Registers the gauges computed at scrape time from the registry and the members, the counters known from
     * {@code config} at zero, and the JVM and process metrics.
     */
    public FederationMetrics observe(FederationConfig config, NodeRegistry nodes, Map<String, MemberCluster> members) {
        return observe(() -> config, nodes, members);
    }

    /** As {@link #observe(FederationConfig, NodeRegistry, Map)}, reading the configuration in force at each scrape. */
    public FederationMetrics observe(Supplier<FederationConfig> current, NodeRegistry nodes, Map<String, MemberCluster> members) {
        this.lastChange = nodes::lastChangeMillis;
        initialiseCounters(current.get());
        JvmMetrics.builder().register(registry);
        GaugeWithCallback.builder().name("ray_federation_nodes")
                .help("Worker nodes in the snapshot by member, pool and status (up-to-date, pending, update-failed)")
                .labelNames("member", "pool", "status")
                .callback(cb -> {
                    Map<String, Integer> counts = new HashMap<>();
                    for (NodeRecord n : nodes.snapshot().nodes()) {
                        counts.merge(n.member() + "\u0000" + n.pool() + "\u0000" + statusClass(n.status()), 1, Integer::sum);
                    }
                    counts.forEach((k, v) -> cb.call(v, k.split("\u0000", -1)));
                }).register(registry);
        GaugeWithCallback.builder().name("ray_federation_snapshot_nodes").help("Nodes in the snapshot")
                .callback(cb -> cb.call(nodes.snapshot().nodes().size())).register(registry);
        GaugeWithCallback.builder().name("ray_federation_snapshot_age_seconds")
                .help("Seconds since the snapshot last changed")
                .callback(cb -> cb.call(Math.max(0, System.currentTimeMillis() - lastChange.getAsLong()) / 1000.0))
                .register(registry);
        GaugeWithCallback.builder().name("ray_federation_member_state")
                .help("1 for each member's current state (syncing, healthy, degraded, unreachable, unauthorized, cordoned)")
                .labelNames("member", "cloud", "state")
                .callback(cb -> members.forEach((name, m) -> {
                    for (MemberState s : MemberState.values()) {
                        cb.call(m.state() == s ? 1 : 0, name, m.spec().cloud(), s.wire());
                    }
                })).register(registry);
        GaugeWithCallback.builder().name("ray_federation_member_held_out_seconds")
                .help("Seconds a member that flapped (turned unreachable again and again) is still held out from new workers; 0 when it is not")
                .labelNames("member")
                .callback(cb -> members.forEach((name, m) -> {
                    Instant until = m.heldOutUntil();
                    cb.call(until == null ? 0 : Math.max(0, until.toEpochMilli() - System.currentTimeMillis()) / 1000.0, name);
                })).register(registry);
        GaugeWithCallback.builder().name("ray_federation_member_flaps")
                .help("How many times a member turned unreachable recently (the count a hold-out grows with)")
                .labelNames("member")
                .callback(cb -> members.forEach((name, m) -> cb.call(m.flaps(), name))).register(registry);
        GaugeWithCallback.builder().name("ray_federation_member_capacity")
                .help("Allocatable resources of schedulable nodes (capped by staticCapacity), in Ray units (memory in bytes)")
                .labelNames("member", "resource")
                .callback(cb -> members.forEach((name, m) -> {
                    CapacityView c = m.capacity();
                    if (c.known()) {
                        c.capacity().toUnits().forEach((r, v) -> cb.call(v.doubleValue(), name, r));
                    }
                })).register(registry);
        GaugeWithCallback.builder().name("ray_federation_member_allocated")
                .help("Requests of non-terminated pods on those nodes, in Ray units (memory in bytes)")
                .labelNames("member", "resource")
                .callback(cb -> members.forEach((name, m) -> {
                    CapacityView c = m.capacity();
                    if (c.known()) {
                        c.allocated().toUnits().forEach((r, v) -> cb.call(v.doubleValue(), name, r));
                    }
                })).register(registry);
        GaugeWithCallback.builder().name("ray_federation_virtual_cluster_used")
                .help("Resources used by a virtual cluster's workers across all members, in Ray units")
                .labelNames("virtual_cluster", "resource")
                .callback(cb -> current.get().virtualClusters().forEach(vc ->
                        nodes.usage(vc.name()).toUnits().forEach((r, v) -> cb.call(v.doubleValue(), vc.name(), r))))
                .register(registry);
        GaugeWithCallback.builder().name("ray_federation_virtual_cluster_quota")
                .help("A virtual cluster's quota, in Ray units (absent: unlimited)")
                .labelNames("virtual_cluster", "resource")
                .callback(cb -> current.get().virtualClusters().forEach(vc ->
                        vc.quota().toUnits().forEach((r, v) -> cb.call(v.doubleValue(), vc.name(), r))))
                .register(registry);
        return this;
    }

    /**
     * Registers the series of live reconfiguration: reloads by outcome (applied, unchanged, refused), the
     * configuration's generation, and which members are cordoned.
     */
    public void observeLiveConfig(LongSupplier generation, Supplier<Set<String>> cordoned, Supplier<Set<String>> members) {
        for (String outcome : RELOAD_OUTCOMES) {
            configReloads.labelValues(outcome);
        }
        GaugeWithCallback.builder().name("ray_federation_config_generation")
                .help("Generation of the configuration in force: 1 at start-up, one more with every reload applied")
                .callback(cb -> cb.call(generation.getAsLong())).register(registry);
        GaugeWithCallback.builder().name("ray_federation_member_cordoned")
                .help("1 for a member cordoned by an operator or removed from the configuration (it takes no new workers), else 0")
                .labelNames("member")
                .callback(cb -> {
                    Set<String> off = cordoned.get();
                    members.get().forEach(m -> cb.call(off.contains(m) ? 1 : 0, m));
                }).register(registry);
    }

    /** A reload of the configuration file ended with {@code outcome} (one of {@link #RELOAD_OUTCOMES}). */
    public void configReload(String outcome, FederationConfig inForce) {
        configReloads.labelValues(outcome).inc();
        initialiseCounters(inForce);
    }

    /** Breaker state per scope (cloud:NAME, member:NAME) and transitions, from the one shared registry. */
    public void observeBreakers(dev.rayfederation.k8s.resilience.BreakerRegistry breakers) {
        Counter transitions = Counter.builder().name("ray_federation_breaker_transitions_total")
                .help("Circuit breaker transitions by breaker (cloud:NAME or member:NAME) and the state entered")
                .labelNames("breaker", "to").register(registry);
        for (dev.rayfederation.k8s.resilience.BreakerStatus st : breakers.statuses()) {
            for (dev.rayfederation.k8s.resilience.BreakerStatus.State s : dev.rayfederation.k8s.resilience.BreakerStatus.State.values()) {
                transitions.labelValues(st.scope(), s.wire());
            }
        }
        breakers.onTransition(t -> transitions.labelValues(t.scope(), t.to().wire()).inc());
        breakers.onCall((member, operation, nanos, outcome) ->
                memberCall(member, operation, nanos / 1e9, "ok".equals(outcome) ? null : outcome));
        GaugeWithCallback.builder().name("ray_federation_breaker_state")
                .help("1 for each breaker's current state (closed, open, half_open)")
                .labelNames("breaker", "state")
                .callback(cb -> breakers.statuses().forEach(st -> {
                    for (dev.rayfederation.k8s.resilience.BreakerStatus.State s : dev.rayfederation.k8s.resilience.BreakerStatus.State.values()) {
                        cb.call(st.state() == s ? 1 : 0, st.scope(), s.wire());
                    }
                })).register(registry);
    }

    /** Registers the back-off gauge: 1 per (member, pool) pair backing off after capacity failures. */
    public void observeBackoff(java.util.function.Supplier<java.util.List<dev.rayfederation.sidecar.placement.CapacityBackoff.Entry>> entries) {
        GaugeWithCallback.builder().name("ray_federation_backoff_active")
                .help("1 for each (member, pool) pair placement skips after workers did not come up there")
                .labelNames("member", "pool")
                .callback(cb -> entries.get().forEach(e -> cb.call(1, e.member(), e.pool()))).register(registry);
        GaugeWithCallback.builder().name("ray_federation_backoff_seconds")
                .help("Current back-off pause of each (member, pool) pair")
                .labelNames("member", "pool")
                .callback(cb -> entries.get().forEach(e -> cb.call(e.pause().toSeconds(), e.member(), e.pool()))).register(registry);
    }

    /** Registers the ant-ray series (only when the ant-ray integration is on), reading {@code status} at scrape time. */
    public void observeAntRay(Supplier<Map<String, AntRaySync.Status>> status) {
        Counter errors = Counter.builder().name("ray_federation_antray_errors_total")
                .help("Failed or refused ant-ray dashboard updates, by virtual cluster")
                .labelNames("virtual_cluster").register(registry);
        status.get().keySet().forEach(errors::labelValues);
        antRayErrors = errors;
        GaugeWithCallback.builder().name("ray_federation_antray_nodes")
                .help("Nodes ant-ray holds in each virtual cluster, as of its last answer")
                .labelNames("virtual_cluster")
                .callback(cb -> status.get().forEach((vc, st) -> cb.call(st.nodes(), vc))).register(registry);
        GaugeWithCallback.builder().name("ray_federation_antray_pending_moves")
                .help("Workers still to move into (or out of) each ant-ray virtual cluster")
                .labelNames("virtual_cluster")
                .callback(cb -> status.get().forEach((vc, st) -> cb.call(st.pendingMoves(), vc))).register(registry);
        GaugeWithCallback.builder().name("ray_federation_antray_in_error")
                .help("1 while the last ant-ray update of a virtual cluster failed or waits")
                .labelNames("virtual_cluster")
                .callback(cb -> status.get().forEach((vc, st) -> cb.call(st.lastError() == null ? 0 : 1, vc))).register(registry);
        GaugeWithCallback.builder().name("ray_federation_antray_last_sync_timestamp_seconds")
                .help("When ant-ray last accepted a virtual cluster's replica sets (absent: never)")
                .labelNames("virtual_cluster")
                .callback(cb -> status.get().forEach((vc, st) -> {
                    if (st.lastSyncAt() != null) {
                        cb.call(st.lastSyncAt().toEpochMilli() / 1000.0, vc);
                    }
                })).register(registry);
    }

    public void antRayError(String virtualCluster) {
        Counter errors = antRayErrors;
        if (errors != null) {
            errors.labelValues(virtualCluster).inc();
        }
    }

    private static String statusClass(String status) {
        if (RayTags.STATUS_UP_TO_DATE.equals(status)) {
            return "up-to-date";
        }
        if (RayTags.STATUS_UPDATE_FAILED.equals(status)) {
            return "update-failed";
        }
        return "pending";
    }

    public void createRequest(String pool, String outcome) {
        createRequests.labelValues(pool, outcome).inc();
    }

    public void placed(String pool, String member, int n) {
        workersCreated.labelValues(pool, member).inc(n);
    }

    public void rejected(String pool, String reason, int n) {
        workersRejected.labelValues(pool, reason).inc(n);
    }

    public void terminations(int terminating, int unknown) {
        terminations.labelValues("terminating").inc(terminating);
        terminations.labelValues("unknown").inc(unknown);
    }

    public void workerLost(String member, String reason) {
        podEvents.labelValues(member, reason).inc();
    }

    public void kubernetesEvent(String member, String outcome) {
        kubeEvents.labelValues(member, outcome).inc();
    }

    public void replaced(String pool, String fromMember) {
        replacements.labelValues(pool, fromMember).inc();
    }

    public void http(String route, String method, int code, double seconds) {
        httpLatency.labelValues(route, method, Integer.toString(code)).observe(seconds);
    }

    public void memberCall(String member, String operation, double seconds, String errorKind) {
        memberCallLatency.labelValues(member, operation).observe(seconds);
        if (errorKind != null) {
            memberCallErrors.labelValues(member, operation, errorKind).inc();
        }
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    /** The Prometheus text exposition format (0.0.4), which every scraper reads. */
    public String scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape(),
                    io.prometheus.metrics.config.EscapingScheme.ALLOW_UTF8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
