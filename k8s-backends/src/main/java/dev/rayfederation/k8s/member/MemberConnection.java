package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.resilience.BreakerStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.fabric8.kubernetes.client.http.HttpRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The connection of one member to its API server and the health state machine built on it: the client, the
 * current set of {@link MemberInformers}, the member's {@link MemberState} with its reason and since when, and
 * the listeners of state changes.
 *
 * <p>{@link #start()} opens the client and starts a set of informers; once they sync the member is HEALTHY
 * (DEGRADED when Nodes or cluster-wide pods may not be listed). If that fails or takes longer than the start
 * timeout, the member is UNREACHABLE, the start stage fails, and a new attempt (with a freshly read kubeconfig)
 * follows every retry interval until one syncs. Once synced, a health check watches the informers: when one has
 * had no working watch for longer than {@code unreachableAfter} and the API server does not answer either, the
 * member turns UNREACHABLE while keeping its last known worker pods (the sidecar reports them stale), and returns
 * to its synced state when the watches are back (fabric8 relists and rewatches on its own).
 *
 * <p>A synced member is HEALTHY only while its calls go through: while its cloud's or its own circuit breaker is
 * open, or after {@value CallHealth#FAILED_IN_A_ROW} calls in a row failed without an answer (or with 408, 429, 5xx),
 * it is DEGRADED, even when its watches look alive (an API server that is shutting down keeps serving its open
 * watches while it refuses new connections). While so degraded, the health check asks the API server for its
 * version every tick, through the guard (a trial call once the breaker is half-open); the first answer makes the
 * member HEALTHY again.
 *
 * <p>Watches alone cannot tell a silent partition: a blackholed API server keeps the watch connections open and
 * says nothing. So a liveness probe (GET /version, every {@code probe.interval}, answered within
 * {@code probe.timeout}) runs all the time a member is synced, through its breakers (never waiting behind its
 * bulkhead or rate limit): {@code probe.failuresToUnreachable} failures in a row make the member UNREACHABLE at once
 * and open its breakers; the first answer brings it back. A member that keeps flapping is held out of placement for a
 * growing while (see {@link ProbeHealth}); it is DEGRADED meanwhile, with the reason.
 *
 * <p>When the API server refuses our credentials (401, or a 403 by RBAC) during an attempt, in the health check's
 * probe or on any call, the member is UNAUTHORIZED with the server's message as its reason: its informers stop and
 * a new attempt, with the kubeconfig (and so the token) read afresh, follows every retry interval.
 *
 * <p>Everything here runs on the member's control thread, which also calls the state listeners.
 *
 * <p>Longer than 400 lines because the connection's states (syncing, healthy, degraded, unreachable, unauthorized) and their transitions read best in one place.
 */
final class MemberConnection implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(MemberConnection.class);
    /** How many times {@code unreachableAfter} watches may stay down while the API server still answers. */
    static final int STALLED_WATCH_FACTOR = 12;

    private final MemberClusterSpec spec;
    private final MemberClusterOptions options;
    private final Supplier<KubernetesClient> clientFactory;
    private final ScheduledExecutorService control;
    private final CallGuard guard;
    private final WorkerPodCache workers;
    private final CallHealth calls;
    private final ProbeHealth liveness;
    private volatile Consumer<String> onUnreachable = reason -> { };
    private volatile ScheduledFuture<?> livenessProbe;
    /** A blackholed member's probes end only at their timeout: at most this many are under way at once. */
    static final int MAX_PROBES_IN_FLIGHT = 3;
    private final AtomicInteger probesInFlight = new AtomicInteger();
    private volatile boolean probingCalls;
    private final MemberStatus status;
    private final CompletableFuture<Void> firstSync = new CompletableFuture<>();

    private volatile KubernetesClient client;
    private volatile MemberInformers informers;
    private volatile MemberInformers attempting;
    private volatile String syncedReason;
    private volatile Instant watchLostSince;
    private volatile boolean probing;
    private volatile ScheduledFuture<?> healthCheck;
    private volatile boolean closed;

    /**
     * @param clientFactory opens a new client for each connection attempt
     * @param control       the member's control thread
     * @param guard         the member's call guard (the access checks and the version probe go through it)
     * @param workers       fed by the informer of our worker pods, reconciled after every sync
     * @param breaker       the worse of the member's cloud's and its own circuit breaker
     */
    MemberConnection(MemberClusterSpec spec, MemberClusterOptions options, Supplier<KubernetesClient> clientFactory,
                     ScheduledExecutorService control, CallGuard guard, WorkerPodCache workers, Supplier<BreakerStatus> breaker) {
        this.spec = spec;
        this.options = options;
        this.clientFactory = clientFactory;
        this.control = control;
        this.guard = guard;
        this.workers = workers;
        this.calls = new CallHealth(breaker);
        this.liveness = new ProbeHealth(options.resilience().probe(), options.resilience().holdOut());
        this.status = new MemberStatus(spec.name());
    }

    /** Starts connecting; call once. */
    void connect() {
        runOnControl(() -> {
            status.transition(MemberState.SYNCING, "connecting");
            attempt();
        });
    }

    /** Completes when the informers first synced; fails after each failed attempt until then. */
    CompletionStage<Void> firstSync() {
        return firstSync.copy();
    }

    /** The member's state, reason and since, and their listeners. */
    MemberStatus status() {
        return status;
    }

    /** Hears the reason each time the liveness probe finds the member unreachable (on the control thread). */
    void onUnreachable(Consumer<String> listener) {
        this.onUnreachable = listener;
    }

    /** When the member's hold-out for flapping ends; null when it is not held out. */
    Instant heldOutUntil() {
        return liveness.heldOutUntil(Instant.now());
    }

    /** How many times it became unreachable recently. */
    int flaps() {
        return liveness.flaps();
    }

    /** The informers of the last successful sync; null before the first one. */
    MemberInformers informers() {
        return informers;
    }

    /** The member's client, opened on first use after a connection attempt failed. */
    KubernetesClient client() {
        KubernetesClient c = client;
        if (c != null) {
            return c;
        }
        synchronized (this) {
            if (closed) {
                throw closedFailure("connect");
            }
            if (client == null) {
                client = clientFactory.get();
            }
            return client;
        }
    }

    @Override
    public void close() {
        closed = true;
        ScheduledFuture<?> check = healthCheck;
        if (check != null) {
            check.cancel(false);
        }
        ScheduledFuture<?> probe = livenessProbe;
        if (probe != null) {
            probe.cancel(false);
        }
        closeQuietly(attempting);
        closeQuietly(informers);
        closeClient();
        firstSync.completeExceptionally(closedFailure("start"));
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
        MemberInformers set = new MemberInformers(c, spec, options, workers);
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
        boolean unauthorized = ApiFailures.kind(cause) == MemberApiException.Kind.UNAUTHORIZED;
        if (unauthorized) {
            reason = credentialsRefused(cause);
        }
        closeClient();
        status.transition(unauthorized ? MemberState.UNAUTHORIZED : MemberState.UNREACHABLE, reason);
        firstSync.completeExceptionally(new MemberApiException(spec.name(), "start", ApiFailures.status(cause), ApiFailures.kind(cause),
                ApiFailures.serverMessage(cause), reason, cause));
        LOG.warn("member {}: {}, retrying in {}: {}", spec.name(), status.state().wire(), seconds(options.retryInterval()), reason);
        schedule(this::attempt, options.retryInterval());
    }

    private void synced(MemberInformers set) {
        MemberInformers previous = informers;
        informers = set;
        closeQuietly(previous);
        workers.reconcile(set.workerPods());
        List<String> gaps = set.gaps();
        syncedReason = gaps.isEmpty() ? null : String.join("; ", gaps);
        watchLostSince = null;
        calls.reset();
        transitionToSynced();
        firstSync.complete(null);
        if (healthCheck == null) {
            long tick = Math.max(100, Math.min(1000, options.unreachableAfter().toMillis() / 4));
            try {
                healthCheck = control.scheduleWithFixedDelay(this::checkHealth, tick, tick, TimeUnit.MILLISECONDS);
                long every = options.resilience().probe().interval().toMillis();
                livenessProbe = control.scheduleAtFixedRate(this::probeLiveness, every, every, TimeUnit.MILLISECONDS);
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
        if (closed || current == null || status.state() == MemberState.UNAUTHORIZED) {
            return;
        }
        if (current.allWatching()) {
            watchLostSince = null;
            if (attempting != null) {
                return;
            }
            transitionToSynced();
            if (status.state() == MemberState.DEGRADED && calls.failing()) {
                probeCalls();
            }
            return;
        }
        Instant now = Instant.now();
        if (watchLostSince == null) {
            watchLostSince = now;
            return;
        }
        Duration lost = Duration.between(watchLostSince, now);
        if (lost.compareTo(options.unreachableAfter()) < 0 || status.state() == MemberState.UNREACHABLE || probing) {
            return;
        }
        if (lost.compareTo(options.unreachableAfter().multipliedBy(STALLED_WATCH_FACTOR)) >= 0) {
            String error = current.lastError();
            status.transition(MemberState.UNREACHABLE, "no working watch on the API server " + server() + " for " + seconds(lost)
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
                    if (ApiFailures.kind(cause) == MemberApiException.Kind.UNAUTHORIZED) {
                        unauthorized(cause);
                        return;
                    }
                    Instant since = watchLostSince;
                    status.transition(MemberState.UNREACHABLE, "lost the API server " + server()
                            + (since == null ? "" : " for " + seconds(Duration.between(since, Instant.now())))
                            + ": " + ApiFailures.describe(cause) + "; showing the last known pods");
                }));
    }

    // ---- liveness probe --------------------------------------------------------------------------------

    private boolean probeApplies(MemberInformers current) {
        return !closed && current != null && attempting == null && status.state() != MemberState.UNAUTHORIZED;
    }

    /** Every probe.interval on the control thread: one GET /version, unless too many are still under way. */
    private void probeLiveness() {
        MemberInformers current = informers;
        if (!probeApplies(current) || probesInFlight.get() >= MAX_PROBES_IN_FLIGHT) {
            return;
        }
        Duration timeout = options.resilience().probe().timeout();
        probesInFlight.incrementAndGet();
        guard.<String>probe("get version (liveness probe)", timeout, () -> getVersion(timeout))
                .whenComplete((version, failure) -> {
                    probesInFlight.decrementAndGet();
                    runOnControl(() -> probed(current, failure));
                });
    }

    private void probed(MemberInformers current, Throwable failure) {
        if (!probeApplies(current) || informers != current) {
            return;
        }
        Instant now = Instant.now();
        CallOutcome outcome = failure == null ? CallOutcome.SUCCESS : ApiFailures.outcome(failure);
        if (outcome == CallOutcome.NOT_SENT) {
            return; // our own failure (the client is closing): says nothing about the member
        }
        if (outcome == CallOutcome.MEMBER_FAILURE) {
            if (liveness.failed(ApiFailures.describeAttempt(failure), now)) {
                String reason = liveness.unreachableReason(server());
                status.transition(MemberState.UNREACHABLE, reason);
                try {
                    onUnreachable.accept(reason);
                } catch (RuntimeException e) {
                    LOG.warn("member {}: unreachable listener failed", spec.name(), e);
                }
            }
            return;
        }
        if (liveness.answered(now)) {
            Instant until = liveness.heldOutUntil(now);
            if (until != null) {
                LOG.warn("member {}: answers again; held out until {} ({} flaps)", spec.name(), until, liveness.flaps());
            }
            if (current.allWatching()) {
                transitionToSynced();
            }
        }
    }

    /** GET /version with its own HTTP timeout, asynchronously: a probe never holds a thread while it waits. */
    private CompletableFuture<String> getVersion(Duration timeout) {
        KubernetesClient c = client();
        HttpClient http = c.getHttpClient();
        HttpRequest request = http.newHttpRequestBuilder()
                .uri(c.getMasterUrl().toString().replaceAll("/+$", "") + "/version")
                .timeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .build();
        return http.sendAsync(request, String.class).thenApply(response -> {
            if (response.code() >= 400) {
                throw new KubernetesClientException("GET /version: HTTP " + response.code(), response.code(), null);
            }
            return response.body();
        });
    }

    // ---- calls ---------------------------------------------------------------------------------------

    /** A breaker of the member changed state (on the breaker's thread). */
    void breakerChanged() {
        runOnControl(this::reevaluate);
    }

    /** After a call or a breaker transition: a synced member's state follows how its calls go. */
    private void reevaluate() {
        MemberState s = status.state();
        if (!closed && informers != null && attempting == null && (s == MemberState.HEALTHY || s == MemberState.DEGRADED)) {
            transitionToSynced();
        }
    }

    /**
     * To the state of a synced member whose watches are live: DEGRADED while its calls fail or a breaker is open
     * (see the class comment), otherwise HEALTHY, or DEGRADED when it was synced with gaps.
     */
    private void transitionToSynced() {
        if (liveness.unreachable()) {
            status.transition(MemberState.UNREACHABLE, liveness.unreachableReason(server()));
            return;
        }
        String problem = calls.problem(server());
        String held = liveness.heldOutReason(Instant.now());
        if (held != null) {
            problem = problem == null ? held : held + "; " + problem;
        }
        String reason = problem == null ? syncedReason : syncedReason == null ? problem : problem + "; " + syncedReason;
        status.transition(reason == null ? MemberState.HEALTHY : MemberState.DEGRADED, reason);
    }

    /** While calls fail: one version request at a time, through the guard; its outcome counts like any call's. */
    private void probeCalls() {
        if (probingCalls) {
            return;
        }
        probingCalls = true;
        probe("get version", () -> client().getKubernetesVersion())
                .whenComplete((version, failure) -> probingCalls = false);
    }

    // ---- credentials -----------------------------------------------------------------------------------

    /** What an attempt of a guarded call said about the member (on a call thread or the timer). */
    void attempted(CallOutcome outcome, Throwable failure) {
        if (outcome == CallOutcome.REQUEST_REJECTED && ApiFailures.kind(failure) == MemberApiException.Kind.UNAUTHORIZED) {
            runOnControl(() -> unauthorized(failure));
            return;
        }
        if (calls.record(outcome, failure)) {
            runOnControl(this::reevaluate);
        }
    }

    /** What a "GOAWAY received" on the current client hides ({@link GoAwayRecheck}); on a call thread. */
    RuntimeException explainGoAway(RuntimeException goAway) {
        KubernetesClient c = client;
        return c == null || closed ? goAway : GoAwayRecheck.explain(c, goAway);
    }

    /** On the control thread: a synced member whose credentials were refused stops its informers and reconnects. */
    private void unauthorized(Throwable failure) {
        if (closed || attempting != null || informers == null || status.state() == MemberState.UNAUTHORIZED) {
            return;
        }
        status.transition(MemberState.UNAUTHORIZED, credentialsRefused(failure));
        closeQuietly(informers);
        closeClient();
        watchLostSince = null;
        LOG.warn("member {}: reconnecting in {} with the kubeconfig read afresh", spec.name(), seconds(options.retryInterval()));
        schedule(this::attempt, options.retryInterval());
    }

    /** The state reason of an UNAUTHORIZED member: the API server's own message. */
    private String credentialsRefused(Throwable failure) {
        String message = ApiFailures.serverMessage(failure);
        return "the API server " + server() + " refused our credentials: HTTP " + ApiFailures.status(failure) + ": "
                + (message == null || message.isBlank() ? ApiFailures.describe(failure) : message);
    }

    // ---- plumbing --------------------------------------------------------------------------------------

    /** A probe (start-up access checks, the version check): guarded like every call, but tried once. */
    private <T> CompletionStage<T> probe(String op, Supplier<T> action) {
        return guard.call(op, CallGuard.Retry.ONCE, action);
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
        return MemberClients.server(client, spec);
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

    private MemberApiException closedFailure(String op) {
        return new MemberApiException(spec.name(), op, 0, MemberApiException.Kind.OTHER, null, "member closed", null);
    }

    private static void closeQuietly(MemberInformers set) {
        if (set != null) {
            set.close();
        }
    }

    static String seconds(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? (ms / 1000) + "s" : String.format(Locale.ROOT, "%.1fs", ms / 1000.0);
    }
}
