package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.capacity.CapacityView;
import dev.rayfederation.k8s.capacity.NodeCapacity;
import dev.rayfederation.k8s.render.ProbePodSpec;
import dev.rayfederation.k8s.render.WorkerPodSpec;
import dev.rayfederation.k8s.resilience.Breaker;
import dev.rayfederation.k8s.resilience.BreakerRegistry;
import dev.rayfederation.k8s.resilience.BreakerStatus;
import dev.rayfederation.k8s.resilience.BreakerTransition;
import dev.rayfederation.k8s.resources.ResourceVector;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.http.Interceptor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A {@link MemberCluster} backed by fabric8 (JDK HTTP client). It wires together, for one member:
 * <ul>
 *   <li>its {@link MemberConnection}: the client, the informers and the health state machine
 *       (syncing, healthy, degraded, unreachable, unauthorized);</li>
 *   <li>its {@link WorkerPodCache}: our worker pods as the informers see them, and their listeners;</li>
 *   <li>its {@link PodCommands}: create, update tags and delete worker pods;</li>
 *   <li>its {@link CallGuard}: rate limit, bulkhead, its cloud's and its own circuit breaker (from the shared
 *       {@link BreakerRegistry}), the request timeout, and retries of idempotent calls. The start-up access checks
 *       and the health check's version probe go through it too (once, without retries: they have their own
 *       schedule); the informers' LIST and WATCH requests do not (fabric8 relists and rewatches on its own, and
 *       the health check judges them).</li>
 * </ul>
 *
 * <p>Threads: API calls run on "member-NAME-io-N"; state changes, connection retries, health checks, rate-limit
 * waits and call retries run on "member-NAME-control", which also calls the state listeners.
 */
public final class Fabric8MemberCluster implements MemberCluster {

    private static final Logger LOG = LoggerFactory.getLogger(Fabric8MemberCluster.class);

    private final MemberClusterSpec spec;
    private final MemberClusterOptions options;
    private final ScheduledExecutorService control;
    private final Breaker cloudBreaker;
    private final Breaker ownBreaker;
    private final CallGuard guard;
    private final WorkerPodCache workers;
    private final MemberConnection connection;
    private final PodCommands commands;
    private final ProbeCommands probes;
    private final PodEvents podEvents;
    private final ScheduledExecutorService eventPoster;
    private final List<Runnable> breakerSubscriptions = new ArrayList<>();
    private final List<Consumer<BreakerTransition>> breakerListeners = new CopyOnWriteArrayList<>();
    private final AtomicBoolean started = new AtomicBoolean();
    private volatile boolean closed;

    /** With the circuit breakers of {@code breakers}, shared with the other members of its cloud. */
    public Fabric8MemberCluster(MemberClusterSpec spec, MemberClusterOptions options, BreakerRegistry breakers) {
        this(spec, options, breakers, retryAfter -> MemberClients.open(spec, options, Map.of(RetryAfterWatch.NAME, retryAfter)));
    }

    /**
     * The full form: {@code clientFactory} is called for each connection attempt with the interceptor that watches
     * the API server's Retry-After headers, which the client should run (see
     * {@link MemberClients#open(MemberClusterSpec, MemberClusterOptions, Map)}).
     */
    public Fabric8MemberCluster(MemberClusterSpec spec, MemberClusterOptions options, BreakerRegistry breakers,
                                Function<Interceptor, KubernetesClient> clientFactory) {
        this.spec = Objects.requireNonNull(spec, "spec");
        this.options = Objects.requireNonNull(options, "options");
        Objects.requireNonNull(breakers, "breakers");
        Objects.requireNonNull(clientFactory, "clientFactory");
        RetryAfterWatch retryAfter = new RetryAfterWatch();
        ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1, threads("member-" + spec.name() + "-control-"));
        scheduler.setRemoveOnCancelPolicy(true);
        this.control = scheduler;
        var settings = options.resilience().breaker();
        this.cloudBreaker = spec.cloud() == null || spec.cloud().isBlank() ? null : breakers.cloud(spec.cloud(), settings);
        this.ownBreaker = breakers.member(spec.name(), settings);
        this.guard = new CallGuard(spec.name(), options.resilience(), options.requestTimeout(), cloudBreaker, ownBreaker,
                control, retryAfter, threads("member-" + spec.name() + "-io-"), breakers::called);
        this.workers = new WorkerPodCache(spec.name(), options.gpuResourceName());
        this.connection = new MemberConnection(spec, options, () -> clientFactory.apply(retryAfter), control, guard, workers,
                this::breaker);
        this.commands = new PodCommands(spec, options, guard, connection::client, workers);
        this.probes = new ProbeCommands(spec, options.rayClusterName(), guard, connection::client);
        this.eventPoster = new ScheduledThreadPoolExecutor(1, threads("member-" + spec.name() + "-events-"));
        this.podEvents = new PodEvents(spec.namespace(), connection::client, workers::get, eventPoster, Clock.systemUTC());
        guard.checkGoAwayWith(connection::explainGoAway);
        guard.onAttempt(connection::attempted);
        // unreachable by its liveness probe: open its own breaker at once, so nothing more waits on it
        connection.onUnreachable(ownBreaker::open);
        if (cloudBreaker != null) {
            breakerSubscriptions.add(cloudBreaker.onTransition(this::breakerTransitioned));
        }
        breakerSubscriptions.add(ownBreaker.onTransition(this::breakerTransitioned));
    }

    @Override
    public MemberClusterSpec spec() {
        return spec;
    }

    /** The options this member runs with. */
    public MemberClusterOptions options() {
        return options;
    }

    @Override
    public CompletionStage<Void> start() {
        if (started.compareAndSet(false, true) && !closed) {
            connection.connect();
        }
        return connection.firstSync();
    }

    @Override
    public MemberState state() {
        return connection.status().state();
    }

    @Override
    public String stateReason() {
        return connection.status().reason();
    }

    @Override
    public Instant stateSince() {
        return connection.status().since();
    }

    @Override
    public void onStateChange(Consumer<MemberState> listener) {
        connection.status().onChange(listener);
    }

    /** The worse of its cloud's breaker and its own; the cloud's when both are equally bad. */
    @Override
    public BreakerStatus breaker() {
        BreakerStatus own = ownBreaker.status();
        if (cloudBreaker == null) {
            return own;
        }
        BreakerStatus cloud = cloudBreaker.status();
        return own.state().worseThan(cloud.state()) || cloud.state() == BreakerStatus.State.CLOSED ? own : cloud;
    }

    @Override
    public Instant heldOutUntil() {
        return connection.heldOutUntil();
    }

    @Override
    public int flaps() {
        return connection.flaps();
    }

    @Override
    public void onBreakerTransition(Consumer<BreakerTransition> listener) {
        breakerListeners.add(Objects.requireNonNull(listener, "listener"));
    }

    @Override
    public Collection<WorkerPod> workerPods() {
        return workers.all();
    }

    @Override
    public void addWorkerPodListener(WorkerPodListener listener) {
        workers.addListener(listener);
    }

    @Override
    public boolean capacityCounts(String podName, boolean bound) {
        MemberInformers current = connection.informers();
        if (spec.staticOnly() || current == null || !current.nodesVisible()) {
            return bound; // no per-node counts: static or unknown capacity
        }
        return current.ledger().holds(spec.namespace() + "/" + podName);
    }

    @Override
    public CapacityView capacity() {
        MemberInformers current = connection.informers();
        ResourceVector cap = spec.staticCapacity() == null ? ResourceVector.EMPTY : spec.staticCapacity();
        if (spec.staticOnly()) {
            return NodeCapacity.staticOnly(cap, workers.requests());
        }
        if (current == null || !current.nodesVisible()) {
            return cap.isEmpty() ? NodeCapacity.unknown(workers.requests()) : NodeCapacity.staticOnly(cap, workers.requests());
        }
        return current.ledger().snapshot();
    }

    /**
     * Creates the worker pod, or returns the existing one when a pod of that name already carries the same
     * node id (a retried create). The pod shows up in {@link #workerPods()} once the informer sees it.
     * Fails with {@link MemberApiException} (status 409) when the name is taken by another node id.
     */
    @Override
    public CompletionStage<WorkerPod> createWorker(WorkerPodSpec podSpec) {
        return commands.create(podSpec);
    }

    /**
     * Replaces the tags annotation with a JSON merge patch (nothing else of the pod changes). The new tags show
     * in {@link #workerPods()} once the informer sees the change.
     */
    @Override
    public CompletionStage<Boolean> updateWorkerTags(String podName, Map<String, String> tags) {
        return commands.updateTags(podName, tags);
    }

    @Override
    public CompletionStage<PodEventOutcome> postPodEvent(String podName, String reason, String message, boolean warning) {
        return podEvents.post(podName, reason, message, warning);
    }

    @Override
    public CompletionStage<Boolean> deleteWorker(String podName) {
        return commands.delete(podName);
    }

    @Override
    public boolean runsProbes() {
        return true;
    }

    @Override
    public CompletionStage<ProbePod> createProbe(ProbePodSpec probe) {
        return probes.create(probe);
    }

    @Override
    public CompletionStage<Optional<ProbePod>> probe(String podName) {
        return probes.get(podName);
    }

    @Override
    public CompletionStage<Boolean> deleteProbe(String podName) {
        return probes.delete(podName);
    }

    @Override
    public CompletionStage<Integer> deleteProbes() {
        return probes.deleteAll();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        control.shutdownNow();
        eventPoster.shutdownNow();
        connection.close();
        breakerSubscriptions.forEach(Runnable::run);
        guard.close();
        LOG.info("member {}: closed", spec.name());
    }

    private void breakerTransitioned(BreakerTransition transition) {
        connection.breakerChanged();
        for (Consumer<BreakerTransition> l : breakerListeners) {
            try {
                l.accept(transition);
            } catch (RuntimeException e) {
                LOG.warn("member {}: breaker listener failed", spec.name(), e);
            }
        }
    }

    private static ThreadFactory threads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
