package dev.rayfederation.k8s.member;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rayfederation.k8s.capacity.CapacityView;
import dev.rayfederation.k8s.capacity.NodeCapacity;
import dev.rayfederation.k8s.render.WorkerPodContract;
import dev.rayfederation.k8s.render.WorkerPodRenderer;
import dev.rayfederation.k8s.render.WorkerPodSpec;
import dev.rayfederation.k8s.resilience.Breaker;
import dev.rayfederation.k8s.resilience.BreakerRegistry;
import dev.rayfederation.k8s.resilience.BreakerStatus;
import dev.rayfederation.k8s.resilience.BreakerTransition;
import dev.rayfederation.k8s.resources.ResourceVector;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.http.Interceptor;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A {@link MemberCluster} backed by fabric8 (JDK HTTP client).
 *
 * <p>Life cycle: {@link #start()} opens the client and starts a set of {@link MemberInformers}; once they
 * sync the member is HEALTHY (DEGRADED when Nodes or cluster-wide pods may not be listed). If that fails or
 * takes longer than the start timeout, the member is UNREACHABLE, the start stage fails, and a new attempt
 * (with a freshly read kubeconfig) follows every retry interval until one syncs. Once synced, a health check
 * watches the informers: when one has had no working watch for longer than {@code unreachableAfter} and the
 * API server does not answer either, the member turns UNREACHABLE while keeping its last known worker pods
 * (the sidecar reports them stale), and returns to its synced state when the watches are back (fabric8
 * relists and rewatches on its own).
 *
 * <p>Every API call goes through the member's {@link CallGuard}: rate limit, bulkhead, its cloud's and its own
 * circuit breaker (from the shared {@link BreakerRegistry}), the request timeout, and retries of idempotent
 * calls. The start-up access checks and the health check's version probe go through it too (once, without
 * retries: they have their own schedule); the informers' LIST and WATCH requests do not (fabric8 relists and
 * rewatches on its own, and the health check judges them).
 *
 * <p>Threads: API calls run on "member-NAME-io-N"; state changes, connection retries, health checks, rate-limit
 * waits and call retries run on "member-NAME-control", which also calls the state listeners.
 */
public final class Fabric8MemberCluster implements MemberCluster {

    private static final Logger LOG = LoggerFactory.getLogger(Fabric8MemberCluster.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** How many times {@code unreachableAfter} watches may stay down while the API server still answers. */
    static final int STALLED_WATCH_FACTOR = 12;

    private record StateView(MemberState state, String reason, Instant since) {
    }

    private final MemberClusterSpec spec;
    private final MemberClusterOptions options;
    private final Supplier<KubernetesClient> clientFactory;
    private final ScheduledExecutorService control;
    private final Breaker cloudBreaker;
    private final Breaker ownBreaker;
    private final CallGuard guard;
    private final List<Runnable> breakerSubscriptions = new ArrayList<>();
    private final List<Consumer<BreakerTransition>> breakerListeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<MemberState>> stateListeners = new CopyOnWriteArrayList<>();
    private final List<WorkerPodListener> podListeners = new CopyOnWriteArrayList<>();
    private final Map<String, WorkerPod> workers = new HashMap<>();
    private final Object workersLock = new Object();
    private final CompletableFuture<Void> firstSync = new CompletableFuture<>();
    private final AtomicBoolean started = new AtomicBoolean();

    private volatile StateView state = new StateView(MemberState.SYNCING, "not started", Instant.now());
    private volatile KubernetesClient client;
    private volatile MemberInformers informers;
    private volatile MemberInformers attempting;
    private volatile String syncedReason;
    private volatile Instant watchLostSince;
    private volatile boolean probing;
    private volatile ScheduledFuture<?> healthCheck;
    private volatile boolean closed;

    /** With circuit breakers of its own (no other member shares its cloud's breaker). */
    public Fabric8MemberCluster(MemberClusterSpec spec, MemberClusterOptions options) {
        this(spec, options, new BreakerRegistry());
    }

    /** With the circuit breakers of {@code breakers}, shared with the other members of its cloud. */
    public Fabric8MemberCluster(MemberClusterSpec spec, MemberClusterOptions options, BreakerRegistry breakers) {
        this(spec, options, breakers, retryAfter -> MemberClients.open(spec, options, Map.of(RetryAfterWatch.NAME, retryAfter)));
    }

    /**
     * With a custom client factory (called for each connection attempt) and breakers of its own. Clients from it
     * do not report Retry-After headers; the Status' retryAfterSeconds is still honoured.
     */
    public Fabric8MemberCluster(MemberClusterSpec spec, MemberClusterOptions options, Supplier<KubernetesClient> clientFactory) {
        this(spec, options, new BreakerRegistry(), retryAfter -> clientFactory.get());
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
        this.clientFactory = () -> clientFactory.apply(retryAfter);
        ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1, threads("member-" + spec.name() + "-control-"));
        scheduler.setRemoveOnCancelPolicy(true);
        this.control = scheduler;
        var settings = options.resilience().breaker();
        this.cloudBreaker = spec.cloud() == null || spec.cloud().isBlank() ? null : breakers.cloud(spec.cloud(), settings);
        this.ownBreaker = breakers.member(spec.name(), settings);
        this.guard = new CallGuard(spec.name(), options.resilience(), options.requestTimeout(), cloudBreaker, ownBreaker,
                control, retryAfter, threads("member-" + spec.name() + "-io-"), breakers::called);
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
            runOnControl(() -> {
                transition(MemberState.SYNCING, "connecting");
                attempt();
            });
        }
        return firstSync.copy();
    }

    @Override
    public MemberState state() {
        return state.state();
    }

    @Override
    public String stateReason() {
        return state.reason();
    }

    @Override
    public Instant stateSince() {
        return state.since();
    }

    @Override
    public void onStateChange(Consumer<MemberState> listener) {
        stateListeners.add(Objects.requireNonNull(listener, "listener"));
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
    public void onBreakerTransition(Consumer<BreakerTransition> listener) {
        breakerListeners.add(Objects.requireNonNull(listener, "listener"));
    }

    @Override
    public Collection<WorkerPod> workerPods() {
        synchronized (workersLock) {
            return List.copyOf(workers.values());
        }
    }

    @Override
    public void addWorkerPodListener(WorkerPodListener listener) {
        podListeners.add(Objects.requireNonNull(listener, "listener"));
    }

    @Override
    public CapacityView capacity() {
        MemberInformers current = informers;
        ResourceVector cap = spec.staticCapacity() == null ? ResourceVector.EMPTY : spec.staticCapacity();
        if (spec.staticOnly()) {
            return NodeCapacity.staticOnly(cap, ourRequests());
        }
        if (current == null || !current.nodesVisible()) {
            return cap.isEmpty() ? NodeCapacity.unknown(ourRequests()) : NodeCapacity.staticOnly(cap, ourRequests());
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
        Pod pod;
        try {
            pod = WorkerPodRenderer.render(forThisMember(podSpec));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        String name = pod.getMetadata().getName();
        return call("create pod " + name, () -> {
            KubernetesClient c = client();
            try {
                return translate(c.pods().inNamespace(spec.namespace()).resource(pod).create());
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409) {
                    throw e;
                }
                Pod existing = c.pods().inNamespace(spec.namespace()).withName(name).get();
                String existingId = existing == null || existing.getMetadata().getLabels() == null
                        ? null : existing.getMetadata().getLabels().get(WorkerPodContract.LABEL_NODE_ID);
                if (existing != null && podSpec.nodeId().equals(existingId)) {
                    return translate(existing);
                }
                throw new MemberApiException(spec.name(), "create pod " + name, 409, existing == null
                        ? "pod " + name + " already exists and is being deleted"
                        : "pod " + name + " already exists with node id " + existingId + ", not " + podSpec.nodeId(), e);
            }
        });
    }

    /**
     * Replaces the tags annotation with a JSON merge patch (nothing else of the pod changes). The new tags show
     * in {@link #workerPods()} once the informer sees the change.
     */
    @Override
    public CompletionStage<Boolean> updateWorkerTags(String podName, Map<String, String> tags) {
        if (podName == null || podName.isBlank()) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("podName: is required"));
        }
        String patch;
        try {
            patch = JSON.writeValueAsString(Map.of("metadata", Map.of("annotations",
                    Map.of(WorkerPodContract.ANNOTATION_TAGS, WorkerPodRenderer.tagsJson(tags)))));
        } catch (JsonProcessingException e) {
            return CompletableFuture.failedFuture(new IllegalStateException("cannot write the tags patch", e));
        }
        return call("update tags of pod " + podName, () -> {
            try {
                client().pods().inNamespace(spec.namespace()).withName(podName)
                        .patch(PatchContext.of(PatchType.JSON_MERGE), patch);
                return true;
            } catch (KubernetesClientException e) {
                if (e.getCode() == 404) {
                    return false;
                }
                throw e;
            }
        });
    }

    @Override
    public CompletionStage<Boolean> deleteWorker(String podName) {
        if (podName == null || podName.isBlank()) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("podName: is required"));
        }
        return call("delete pod " + podName,
                () -> !client().pods().inNamespace(spec.namespace()).withName(podName).delete().isEmpty());
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        ScheduledFuture<?> check = healthCheck;
        if (check != null) {
            check.cancel(false);
        }
        control.shutdownNow();
        closeQuietly(attempting);
        closeQuietly(informers);
        closeClient();
        breakerSubscriptions.forEach(Runnable::run);
        guard.close();
        firstSync.completeExceptionally(new MemberApiException(spec.name(), "start", 0, "member closed", null));
        LOG.info("member {}: closed", spec.name());
    }

    /**
     * Every API call that changes or reads one object goes through here: {@code action} runs on the member's call
     * threads behind its {@link CallGuard}, and is repeated after failures that may pass (every such call of this
     * class is idempotent: pods are created under a fixed name, deletes and merge patches may be repeated).
     */
    private <T> CompletionStage<T> call(String op, Supplier<T> action) {
        return guard.call(op, CallGuard.Retry.IDEMPOTENT, action);
    }

    /** A probe (start-up access checks, the version check): guarded like every call, but tried once. */
    private <T> CompletionStage<T> probe(String op, Supplier<T> action) {
        return guard.call(op, CallGuard.Retry.ONCE, action);
    }

    private void breakerTransitioned(BreakerTransition transition) {
        for (Consumer<BreakerTransition> l : breakerListeners) {
            try {
                l.accept(transition);
            } catch (RuntimeException e) {
                LOG.warn("member {}: breaker listener failed", spec.name(), e);
            }
        }
    }

    // ---- connection attempts -------------------------------------------------------------------------

    private void attempt() {
        if (closed) {
            return;
        }
        KubernetesClient c;
        try {
            c = client();
        } catch (RuntimeException e) {
            attemptFailed(e);
            return;
        }
        MemberInformers set = new MemberInformers(c, spec, options, workerEvents());
        attempting = set;
        probe("list pods, nodes", () -> MemberAccess.probe(c, spec, options.rayClusterName()))
                .thenCompose(set::start)
                .toCompletableFuture()
                .orTimeout(options.startTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .whenComplete((ok, failure) -> runOnControl(() -> {
                    attempting = null;
                    if (closed) {
                        set.close();
                    } else if (failure != null) {
                        set.close();
                        attemptFailed(failure);
                    } else {
                        synced(set);
                    }
                }));
    }

    private void attemptFailed(Throwable failure) {
        Throwable cause = ApiFailures.unwrap(failure);
        if (cause instanceof MemberApiException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        String reason = cause instanceof TimeoutException
                ? "could not sync with the API server " + server() + " within " + seconds(options.startTimeout())
                : cause instanceof IllegalArgumentException
                ? cause.getMessage()
                : "cannot sync with the API server " + server() + ": " + ApiFailures.describe(cause);
        closeClient();
        transition(MemberState.UNREACHABLE, reason);
        firstSync.completeExceptionally(new MemberApiException(spec.name(), "start", ApiFailures.status(cause), reason, cause));
        LOG.warn("member {}: unreachable, retrying in {}: {}", spec.name(), seconds(options.retryInterval()), reason);
        schedule(this::attempt, options.retryInterval());
    }

    private void synced(MemberInformers set) {
        MemberInformers previous = informers;
        informers = set;
        closeQuietly(previous);
        reconcileWorkers(set);
        List<String> gaps = set.gaps();
        syncedReason = gaps.isEmpty() ? null : String.join("; ", gaps);
        watchLostSince = null;
        transition(syncedReason == null ? MemberState.HEALTHY : MemberState.DEGRADED, syncedReason);
        firstSync.complete(null);
        if (healthCheck == null) {
            long tick = Math.max(100, Math.min(1000, options.unreachableAfter().toMillis() / 4));
            try {
                healthCheck = control.scheduleWithFixedDelay(this::checkHealth, tick, tick, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                // closed meanwhile
            }
        }
    }

    /**
     * Health of a synced member. While every informer has a live watch the member keeps its synced state.
     * When some informer has had none for {@code unreachableAfter}, the API server is asked for its version: no
     * answer (within {@code unreachableAfter}) makes the member UNREACHABLE; an answer means the informers are
     * just relisting (slow in big clusters), unless that has gone on for {@link #STALLED_WATCH_FACTOR} times as
     * long. The member is back in its synced state as soon as every watch is live again.
     */
    private void checkHealth() {
        MemberInformers current = informers;
        if (closed || current == null) {
            return;
        }
        if (current.allWatching()) {
            watchLostSince = null;
            if (state.state() == MemberState.UNREACHABLE) {
                transition(syncedReason == null ? MemberState.HEALTHY : MemberState.DEGRADED, syncedReason);
            }
            return;
        }
        Instant now = Instant.now();
        if (watchLostSince == null) {
            watchLostSince = now;
            return;
        }
        Duration lost = Duration.between(watchLostSince, now);
        if (lost.compareTo(options.unreachableAfter()) < 0 || state.state() == MemberState.UNREACHABLE || probing) {
            return;
        }
        if (lost.compareTo(options.unreachableAfter().multipliedBy(STALLED_WATCH_FACTOR)) >= 0) {
            String error = current.lastError();
            transition(MemberState.UNREACHABLE, "no working watch on the API server " + server() + " for " + seconds(lost)
                    + (error == null ? "" : ": " + error) + "; showing the last known pods");
            return;
        }
        probing = true;
        probe("get version", () -> client().getKubernetesVersion())
                .toCompletableFuture()
                .orTimeout(options.unreachableAfter().toMillis(), TimeUnit.MILLISECONDS)
                .whenComplete((version, failure) -> runOnControl(() -> {
                    probing = false;
                    if (failure == null || closed || informers != current || current.allWatching()) {
                        return;
                    }
                    Throwable cause = ApiFailures.unwrap(failure);
                    if (cause instanceof MemberApiException && cause.getCause() != null) {
                        cause = cause.getCause();
                    }
                    Instant since = watchLostSince;
                    transition(MemberState.UNREACHABLE, "lost the API server " + server()
                            + (since == null ? "" : " for " + seconds(Duration.between(since, Instant.now())))
                            + ": " + ApiFailures.describe(cause) + "; showing the last known pods");
                }));
    }

    // ---- worker pods -----------------------------------------------------------------------------------

    private ResourceEventHandler<Pod> workerEvents() {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(Pod pod) {
                upsert(pod);
            }

            @Override
            public void onUpdate(Pod oldPod, Pod newPod) {
                upsert(newPod);
            }

            @Override
            public void onDelete(Pod pod, boolean deletedFinalStateUnknown) {
                remove(pod);
            }
        };
    }

    private void upsert(Pod pod) {
        WorkerPod w = translate(pod);
        if (w.podName() == null) {
            return;
        }
        synchronized (workersLock) {
            workers.put(w.podName(), w);
        }
        for (WorkerPodListener l : podListeners) {
            try {
                l.onUpsert(w);
            } catch (RuntimeException e) {
                LOG.warn("member {}: worker pod listener failed on {}", spec.name(), w.podName(), e);
            }
        }
    }

    private void remove(Pod pod) {
        WorkerPod w = translate(pod);
        WorkerPod known;
        synchronized (workersLock) {
            known = workers.remove(w.podName());
        }
        if (known != null) {
            notifyDeleted(w);
        }
    }

    private void notifyDeleted(WorkerPod w) {
        for (WorkerPodListener l : podListeners) {
            try {
                l.onDelete(w);
            } catch (RuntimeException e) {
                LOG.warn("member {}: worker pod listener failed on {}", spec.name(), w.podName(), e);
            }
        }
    }

    /** After a (re)sync: the informer's store is the truth; pods we knew that are no longer there are gone. */
    private void reconcileWorkers(MemberInformers set) {
        List<WorkerPod> gone = new ArrayList<>();
        synchronized (workersLock) {
            Set<String> live = new HashSet<>();
            for (Pod p : set.workerPods()) {
                WorkerPod w = translate(p);
                live.add(w.podName());
                workers.put(w.podName(), w);
            }
            workers.keySet().removeIf(name -> {
                if (live.contains(name)) {
                    return false;
                }
                gone.add(workers.get(name));
                return true;
            });
        }
        gone.forEach(this::notifyDeleted);
    }

    private WorkerPod translate(Pod pod) {
        return WorkerPods.from(spec.name(), pod, options.gpuResourceName());
    }

    private ResourceVector ourRequests() {
        ResourceVector sum = ResourceVector.EMPTY;
        for (WorkerPod w : workerPods()) {
            if (!w.terminated()) {
                sum = sum.plus(w.requests());
            }
        }
        return sum;
    }

    private WorkerPodSpec forThisMember(WorkerPodSpec s) {
        Objects.requireNonNull(s, "spec");
        if (!options.rayClusterName().equals(s.rayClusterName())) {
            throw new IllegalArgumentException("WorkerPodSpec.rayClusterName: '" + s.rayClusterName()
                    + "' differs from this member's rayClusterName '" + options.rayClusterName() + "'");
        }
        if (s.gpuResourceName() != null && !s.gpuResourceName().isBlank()) {
            return s;
        }
        return new WorkerPodSpec(s.nodeId(), s.podName(), s.rayClusterName(), s.headAddress(), s.pool(), s.virtualCluster(),
                s.rayNodeType(), s.member(), s.region(), s.zone(), s.resources(), s.rayResources(), s.labels(), s.template(),
                s.override(), s.tags(), s.requestId(), s.requestHash(), s.requestCount(), options.gpuResourceName());
    }

    // ---- plumbing --------------------------------------------------------------------------------------

    private KubernetesClient client() {
        KubernetesClient c = client;
        if (c != null) {
            return c;
        }
        synchronized (this) {
            if (closed) {
                throw new MemberApiException(spec.name(), "connect", 0, "member closed", null);
            }
            if (client == null) {
                client = clientFactory.get();
            }
            return client;
        }
    }

    private synchronized void closeClient() {
        KubernetesClient c = client;
        client = null;
        if (c != null) {
            try {
                c.close();
            } catch (RuntimeException e) {
                LOG.debug("member {}: closing the client failed", spec.name(), e);
            }
        }
    }

    /** The API server URL without user info (never a credential), or the kubeconfig when there is no client. */
    private String server() {
        KubernetesClient c = client;
        if (c == null || c.getConfiguration() == null || c.getConfiguration().getMasterUrl() == null) {
            return spec.kubeconfig() == null ? "(in-cluster)" : "(from " + spec.kubeconfig() + ")";
        }
        String url = c.getConfiguration().getMasterUrl();
        try {
            URI u = URI.create(url);
            return new URI(u.getScheme(), null, u.getHost(), u.getPort(), u.getPath(), null, null).toString();
        } catch (Exception e) {
            return "(unparseable URL)";
        }
    }

    /** Changes state (on the control thread), logs it, and tells the listeners. */
    private void transition(MemberState next, String reason) {
        StateView previous = state;
        if (previous.state() == next && Objects.equals(previous.reason(), reason)) {
            return;
        }
        state = new StateView(next, reason, previous.state() == next ? previous.since() : Instant.now());
        if (previous.state() == next) {
            return;
        }
        if (next == MemberState.HEALTHY) {
            LOG.info("member {}: {} (was {})", spec.name(), next.wire(), previous.state().wire());
        } else {
            LOG.warn("member {}: {} (was {}): {}", spec.name(), next.wire(), previous.state().wire(), reason);
        }
        for (Consumer<MemberState> l : stateListeners) {
            try {
                l.accept(next);
            } catch (RuntimeException e) {
                LOG.warn("member {}: state listener failed", spec.name(), e);
            }
        }
    }

    private void runOnControl(Runnable r) {
        try {
            control.execute(r);
        } catch (RejectedExecutionException e) {
            // closed
        }
    }

    private void schedule(Runnable r, Duration delay) {
        try {
            control.schedule(r, delay.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closed
        }
    }

    private static void closeQuietly(MemberInformers set) {
        if (set != null) {
            set.close();
        }
    }

    private static String seconds(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? (ms / 1000) + "s" : String.format(Locale.ROOT, "%.1fs", ms / 1000.0);
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
