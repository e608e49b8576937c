package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.resilience.Breaker;
import dev.rayfederation.k8s.resilience.BreakerStatus;
import dev.rayfederation.k8s.resilience.CallRefusedException;
import dev.rayfederation.k8s.resilience.ResilienceOptions;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * The guard every API call of one member goes through. One attempt passes, in this order:
 * <ol>
 *   <li><b>breakers, quick look</b>: while the cloud's or the member's breaker is open the call is refused at once
 *       ({@link CallRefusedException}), without a permit, a thread or the network;</li>
 *   <li><b>rate limit</b> ({@code requestsPerSecond}): the attempt reserves its turn and waits for it on the
 *       member's timer, holding no thread; it is refused when its turn is more than {@code rateLimit.maxWait} away;</li>
 *   <li><b>bulkhead</b>: at most {@code maxConcurrentCalls} requests to the member are in flight; an attempt that
 *       finds them all taken waits its turn, first come first served and without holding a thread, in a queue of
 *       at most {@value #MAX_QUEUED_PER_SLOT} × {@code maxConcurrentCalls} attempts, for up to
 *       {@code bulkhead.maxWait}; only a full queue or that deadline refuses it ({@link CallSlots});</li>
 *   <li><b>cloud breaker, then member breaker</b>: each gives a permit (a half-open breaker has only a few);</li>
 *   <li><b>the request</b>, which ends after the request timeout even when the HTTP client does not notice;</li>
 *   <li><b>recording</b> in both breakers, as {@link ApiFailures#outcome} classifies it: no answer (refused, reset,
 *       timeout), 408, 429 and 5xx are failures; other 4xx (404, 409, 400, 422, 403) are successes for the breakers
 *       and errors for the caller; our own errors (member closed, unreadable kubeconfig) are not recorded.</li>
 * </ol>
 * An idempotent call ({@link Retry#IDEMPOTENT}) whose attempt failed in a way that may pass (a breaker failure)
 * starts again at step 1 after a jittered exponential backoff, or after the API server's
 * Retry-After when that is longer (a Retry-After beyond {@code retries.maxRetryAfter} ends the call at once). Retry
 * is the outermost layer, as in Resilience4j's own decorator order, so that every attempt is rate limited, holds a
 * bulkhead slot only while in flight, is seen by the breakers, and an opening breaker stops the retries.
 * A refusal by a breaker, the rate limit or the bulkhead is final: the caller learns that nothing was sent.
 *
 * <p>Callers never block: {@link #call} returns at once; requests run on "member-NAME-io-N" threads.
 */
final class CallGuard implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(CallGuard.class);
    /** How many attempts may wait for a call slot, per slot: 1,024 behind the default 16 slots. */
    static final int MAX_QUEUED_PER_SLOT = 64;

    /** Whether a call may be repeated after a failure that may pass. */
    enum Retry {
        /** Probes: the caller has its own schedule of attempts. */
        ONCE,
        /** Reads, creates of a named pod, deletes and patches: repeating them changes nothing. */
        IDEMPOTENT
    }

    /**
     * @param deadline    System.nanoTime() after which no retry starts (Long.MAX_VALUE: none)
     * @param successesTo the breakers that count a success of this call (null: all)
     */
    private record Call<T>(String op, Retry retry, Supplier<T> action, CompletableFuture<T> result, Duration attemptTimeout,
                           long deadline, List<Breaker> successesTo) {

        boolean countsSuccessIn(Breaker b) {
            return successesTo == null || successesTo.contains(b);
        }
    }

    private final String member;
    private final ResilienceOptions options;
    private final Duration requestTimeout;
    private final List<Breaker> breakers;
    private final RateLimiter rateLimiter;
    private final CallSlots slots;
    private final ThreadPoolExecutor threads;
    private final ScheduledExecutorService timer;
    private final RetryAfterWatch retryAfter;
    private final Set<CompletableFuture<?>> pending = ConcurrentHashMap.newKeySet();
    private final dev.rayfederation.k8s.resilience.MemberCallObserver observer;
    private volatile UnaryOperator<RuntimeException> goAwayCheck = UnaryOperator.identity();
    private volatile BiConsumer<CallOutcome, Throwable> attempts = (outcome, failure) -> { };
    private volatile boolean closed;

    /**
     * @param cloud      the cloud's breaker, or null when the member has no cloud
     * @param own        the member's own breaker
     * @param timer      schedules rate-limit waits, retries and request deadlines (the member's control thread)
     * @param retryAfter what the API server asked for in Retry-After headers
     */
    CallGuard(String member, ResilienceOptions options, Duration requestTimeout, Breaker cloud, Breaker own,
              ScheduledExecutorService timer, RetryAfterWatch retryAfter, ThreadFactory threadFactory) {
        this(member, options, requestTimeout, cloud, own, timer, retryAfter, threadFactory, (m, o, n, r) -> { });
    }

    /** @param observer hears every attempt that was sent (metrics) */
    CallGuard(String member, ResilienceOptions options, Duration requestTimeout, Breaker cloud, Breaker own,
              ScheduledExecutorService timer, RetryAfterWatch retryAfter, ThreadFactory threadFactory,
              dev.rayfederation.k8s.resilience.MemberCallObserver observer) {
        this.observer = observer;
        this.member = member;
        this.options = options;
        this.requestTimeout = requestTimeout;
        this.breakers = cloud == null ? List.of(own) : List.of(cloud, own);
        this.timer = timer;
        this.retryAfter = retryAfter;
        ResilienceOptions.RateLimitSettings rate = options.rateLimit();
        this.rateLimiter = RateLimiter.of(Breaker.MEMBER_PREFIX + member, RateLimiterConfig.custom()
                .limitForPeriod(rate.requestsPerSecond())
                .limitRefreshPeriod(Duration.ofSeconds(1))
                .timeoutDuration(rate.maxWait())
                .writableStackTraceEnabled(false)
                .build());
        ResilienceOptions.BulkheadSettings slots = options.bulkhead();
        this.slots = new CallSlots(slots.maxConcurrentCalls(), MAX_QUEUED_PER_SLOT * slots.maxConcurrentCalls(),
                slots.maxWait(), timer);
        // one thread per slot: an attempt gets a thread only once it holds a slot
        this.threads = new ThreadPoolExecutor(slots.maxConcurrentCalls(), slots.maxConcurrentCalls(), 60, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), threadFactory);
        this.threads.allowCoreThreadTimeOut(true);
    }

    /**
     * Runs {@code action} (a blocking fabric8 call) through the guard. The stage fails with a
     * {@link CallRefusedException} when nothing was sent, a {@link MemberApiException} when the member's API
     * failed, or the action's own RuntimeException.
     */
    <T> CompletableFuture<T> call(String op, Retry retry, Supplier<T> action) {
        return call(op, retry, requestTimeout, null, action);
    }

    /**
     * As {@link #call(String, Retry, Supplier)}, with each attempt given at most {@code attemptTimeout} (never more
     * than the request timeout) and no retry started that could not end within {@code budget} from now (null: no
     * budget). Creates use it to answer within the autoscaler's tick.
     */
    <T> CompletableFuture<T> call(String op, Retry retry, Duration attemptTimeout, Duration budget, Supplier<T> action) {
        Duration perAttempt = attemptTimeout != null && attemptTimeout.compareTo(requestTimeout) <= 0 ? attemptTimeout : requestTimeout;
        long deadline = budget == null ? Long.MAX_VALUE : System.nanoTime() + budget.toNanos();
        CompletableFuture<T> result = new CompletableFuture<>();
        pending.add(result);
        result.whenComplete((v, e) -> pending.remove(result));
        if (closed) {
            result.completeExceptionally(closedFailure(op));
            return result;
        }
        attempt(new Call<>(op, retry, action, result, perAttempt, deadline, null), 1);
        return result;
    }

    /**
     * The liveness probe: one asynchronous attempt through the breakers only. It skips the bulkhead and the rate
     * limit (a member whose call slots are all stuck on a blackhole must still be probed) and never waits for a
     * thread. It is sent even while a breaker is open, since the member's state follows what the member does, but
     * the breakers hear only of a probe they permitted: an open one hears nothing; a half-open one counts it as a
     * trial call, so a recovered member's breaker settles without any other traffic; a closed one counts its
     * failure but not its success (an API server that answers GET /version says little about its creates, and a
     * success every second would dilute the failures of real calls). Its outcome is known {@code timeout} after
     * it was sent at the latest.
     */
    <T> CompletableFuture<T> probe(String op, Duration timeout, Supplier<CompletableFuture<T>> action) {
        CompletableFuture<T> result = new CompletableFuture<>();
        if (closed) {
            result.completeExceptionally(closedFailure(op));
            return result;
        }
        // A probe's success counts only as a half-open breaker's trial call: counted always, a probe every second would
        // dilute the failure rate of the member's real calls (creates timing out behind an API server that still
        // answers /version would never open the breaker). Its failures always count.
        List<Breaker> trials = breakers.stream().filter(b -> b.status().state() == BreakerStatus.State.HALF_OPEN).toList();
        Call<T> call = new Call<>(op, Retry.ONCE, null, result, timeout, Long.MAX_VALUE, trials);
        boolean open = breakers.stream().anyMatch(Breaker::isOpen);
        boolean permitted = !open && acquireBreakers(op) == null;
        AtomicBoolean settled = new AtomicBoolean();
        AtomicBoolean recorded = new AtomicBoolean(!permitted); // not permitted: the breakers hear nothing of it
        long start = System.nanoTime();
        ScheduledFuture<?> deadline = schedule(() -> settle(call, 1, settled, recorded, null,
                new TimeoutException("no answer within " + seconds(timeout)), timeout.toNanos()), timeout.toNanos());
        CompletableFuture<T> sent;
        try {
            sent = action.get();
        } catch (RuntimeException e) {
            sent = CompletableFuture.failedFuture(e);
        }
        sent.whenComplete((value, failure) -> {
            if (deadline != null) {
                deadline.cancel(false);
            }
            settle(call, 1, settled, recorded, value, failure == null ? null : ApiFailures.unwrap(failure), System.nanoTime() - start);
        });
        return result;
    }

    /**
     * How to find out what a failure "GOAWAY received" hides: an API server that refuses a token answers 401 and
     * closes the HTTP/2 connection at once, and Java's HTTP client then reports the GOAWAY instead of the 401.
     * {@code check} runs on the call thread and returns the failure to record (the 401, or the GOAWAY as it was).
     */
    void checkGoAwayWith(UnaryOperator<RuntimeException> check) {
        this.goAwayCheck = check;
    }

    /** Hears the outcome of every attempt that was sent (on the call threads or the timer): the member's health. */
    void onAttempt(BiConsumer<CallOutcome, Throwable> listener) {
        this.attempts = listener;
    }

    /** Fails every call not finished yet; requests in flight end on their own (at most the request timeout). */
    @Override
    public void close() {
        closed = true;
        for (CompletableFuture<?> f : List.copyOf(pending)) {
            f.completeExceptionally(closedFailure("call"));
        }
        threads.shutdown();
    }

    // ---- one attempt -----------------------------------------------------------------------------------

    private <T> void attempt(Call<T> call, int n) {
        if (call.result().isDone()) {
            return;
        }
        if (closed) {
            call.result().completeExceptionally(closedFailure(call.op()));
            return;
        }
        for (Breaker b : breakers) {
            if (b.isOpen()) {
                refuse(call, n, refusedBy(call.op(), b));
                return;
            }
        }
        long waitNanos = rateLimiter.reservePermission();
        if (waitNanos < 0) {
            refuse(call, n, new CallRefusedException(member, call.op(), "rate limit",
                    "the rate limit of " + options.rateLimit().requestsPerSecond() + " requests per second is taken for the next "
                            + seconds(options.rateLimit().maxWait())));
            return;
        }
        if (waitNanos == 0) {
            dispatch(call, n);
        } else {
            later(() -> dispatch(call, n), waitNanos, call);
        }
    }

    /** Waits for a call slot (without a thread), then runs the attempt on a call thread. */
    private <T> void dispatch(Call<T> call, int n) {
        boolean admitted = slots.acquire(new CallSlots.Waiter() {
            @Override
            public void granted() {
                try {
                    threads.execute(() -> run(call, n));
                } catch (RejectedExecutionException e) {
                    slots.release();
                    call.result().completeExceptionally(closedFailure(call.op()));
                }
            }

            @Override
            public void timedOut() {
                refuse(call, n, bulkheadFull(call.op()));
            }
        });
        if (!admitted) {
            refuse(call, n, new CallRefusedException(member, call.op(), "bulkhead", "all "
                    + options.bulkhead().maxConcurrentCalls() + " call slots of the member are taken and "
                    + MAX_QUEUED_PER_SLOT * options.bulkhead().maxConcurrentCalls() + " more calls wait for one"));
        }
    }

    /** On a call thread, holding a call slot: breaker permits, the request with its deadline, recording. */
    private <T> void run(Call<T> call, int n) {
        try {
            if (call.result().isDone()) {
                return;
            }
            CallRefusedException refused = acquireBreakers(call.op());
            if (refused != null) {
                refuse(call, n, refused);
                return;
            }
            AtomicBoolean settled = new AtomicBoolean();
            AtomicBoolean recorded = new AtomicBoolean();
            long start = System.nanoTime();
            Duration timeout = call.attemptTimeout();
            ScheduledFuture<?> deadline = schedule(() -> settle(call, n, settled, recorded, null,
                    new TimeoutException("no answer within " + seconds(timeout)), timeout.toNanos()), timeout.toNanos());
            // A call slower than the breakers' slow-call duration counts as slow when it passes the threshold, not
            // when it finally ends: a blackholed member opens its breaker while its calls still hang.
            Duration slow = breakers.get(breakers.size() - 1).settings().slowCallDuration();
            ScheduledFuture<?> slowMark = slow.compareTo(timeout) >= 0 ? null : schedule(() -> {
                if (!settled.get() && recorded.compareAndSet(false, true)) {
                    breakers.forEach(b -> b.recordSuccess(slow.toNanos() + 1));
                }
            }, slow.toNanos());
            T value = null;
            Throwable failure = null;
            try {
                value = call.action().get();
            } catch (RuntimeException | Error e) {
                failure = e;
            }
            if (failure instanceof RuntimeException r && ApiFailures.goAway(r)) {
                failure = explainGoAway(r);
            }
            if (deadline != null) {
                deadline.cancel(false);
            }
            if (slowMark != null) {
                slowMark.cancel(false);
            }
            settle(call, n, settled, recorded, value, failure, System.nanoTime() - start);
        } finally {
            slots.release();
        }
    }

    private RuntimeException explainGoAway(RuntimeException goAway) {
        try {
            RuntimeException explained = goAwayCheck.apply(goAway);
            return explained == null ? goAway : explained;
        } catch (RuntimeException e) {
            LOG.debug("member {}: could not look behind a GOAWAY: {}", member, e.toString());
            return goAway;
        }
    }

    private CallRefusedException acquireBreakers(String op) {
        for (int i = 0; i < breakers.size(); i++) {
            if (!breakers.get(i).tryAcquirePermission()) {
                for (int j = 0; j < i; j++) {
                    breakers.get(j).releasePermission();
                }
                return refusedBy(op, breakers.get(i));
            }
        }
        return null;
    }

    /**
     * Records the attempt's outcome once (the request or its deadline, whichever comes first) and moves on. The
     * breakers hear of it only if {@code recorded} was not set already (by the slow-call mark).
     */
    private <T> void settle(Call<T> call, int n, AtomicBoolean settled, AtomicBoolean recorded, T value, Throwable failure,
                            long nanos) {
        if (!settled.compareAndSet(false, true)) {
            return;
        }
        CallOutcome outcome = failure == null ? CallOutcome.SUCCESS : ApiFailures.outcome(failure);
        if (outcome != CallOutcome.NOT_SENT) {
            try {
                observer.called(member, dev.rayfederation.k8s.resilience.MemberCallObserver.operation(call.op()), nanos,
                        outcome == CallOutcome.SUCCESS ? "ok" : outcome == CallOutcome.REQUEST_REJECTED ? "rejected" : "failure");
            } catch (RuntimeException e) {
                LOG.warn("call observer failed: {}", e.toString());
            }
        }
        if (outcome != CallOutcome.NOT_SENT) {
            try {
                attempts.accept(outcome, failure);
            } catch (RuntimeException e) {
                LOG.warn("member {}: attempt listener failed: {}", member, e.toString());
            }
        }
        if (recorded.compareAndSet(false, true)) {
            switch (outcome) {
                case SUCCESS, REQUEST_REJECTED -> breakers.forEach(b -> {
                    if (call.countsSuccessIn(b)) {
                        b.recordSuccess(nanos);
                    } else {
                        b.releasePermission();
                    }
                });
                case MEMBER_FAILURE -> {
                    String what = describe(failure);
                    for (Breaker b : breakers) {
                        b.recordFailure(nanos, failure, b.scope().startsWith(Breaker.CLOUD_PREFIX) ? member + ": " + what : what);
                    }
                }
                case NOT_SENT -> breakers.forEach(Breaker::releasePermission);
            }
        }
        if (failure == null) {
            call.result().complete(value);
        } else if (outcome == CallOutcome.MEMBER_FAILURE) {
            retryOrFail(call, n, failure);
        } else {
            call.result().completeExceptionally(translate(call.op(), failure, ""));
        }
    }

    /** After a failure that may pass: another attempt after the backoff (or Retry-After), or the final failure. */
    private <T> void retryOrFail(Call<T> call, int n, Throwable failure) {
        int max = options.retries().maxAttempts();
        if (call.retry() == Retry.ONCE || n >= max) {
            call.result().completeExceptionally(translate(call.op(), failure, n > 1 ? " (" + n + " attempts)" : ""));
            return;
        }
        Duration asked = askedToWait(failure);
        if (asked.compareTo(options.retries().maxRetryAfter()) > 0) {
            Duration wholeSeconds = Duration.ofSeconds((asked.toMillis() + 999) / 1000);
            call.result().completeExceptionally(translate(call.op(), failure, "; the API server asked to retry after "
                    + seconds(wholeSeconds) + ", longer than retries.maxRetryAfter (" + seconds(options.retries().maxRetryAfter())
                    + ")" + (n > 1 ? " (" + n + " attempts)" : "")));
            return;
        }
        Duration backoff = backoff(n);
        Duration wait = asked.compareTo(backoff) > 0 ? asked : backoff;
        if (call.deadline() != Long.MAX_VALUE && System.nanoTime() + wait.toNanos() + call.attemptTimeout().toNanos() > call.deadline()) {
            // another attempt could not end within the call's budget
            call.result().completeExceptionally(translate(call.op(), failure, n > 1 ? " (" + n + " attempts)" : ""));
            return;
        }
        LOG.debug("member {}: {} failed (attempt {} of {}), trying again in {}ms: {}", member, call.op(), n, max,
                wait.toMillis(), describe(failure));
        later(() -> attempt(call, n + 1), wait.toNanos(), call);
    }

    /** The API server's Retry-After: from the Status of the answer, or the header of a recent 429/503. */
    private Duration askedToWait(Throwable failure) {
        Duration inStatus = ApiFailures.retryAfter(failure);
        int status = ApiFailures.status(failure);
        Duration inHeader = status == 429 || status == 503 ? retryAfter.remaining() : Duration.ZERO;
        return inStatus.compareTo(inHeader) >= 0 ? inStatus : inHeader;
    }

    /** A random time between half and all of initialBackoff × 2^(n-1), capped at maxBackoff ("equal jitter"). */
    Duration backoff(int attemptsMade) {
        long cap = options.retries().maxBackoff().toNanos();
        long base = options.retries().initialBackoff().toNanos();
        for (int i = 1; i < attemptsMade && base < cap; i++) {
            base = base > cap / 2 ? cap : base * 2;
        }
        base = Math.min(base, cap);
        long half = base / 2;
        return Duration.ofNanos(half + ThreadLocalRandom.current().nextLong(base - half + 1));
    }

    // ---- plumbing --------------------------------------------------------------------------------------

    /** Fails the call with {@code refusal}; a refused retry says that earlier attempts were sent (outcome unknown). */
    private static void refuse(Call<?> call, int n, CallRefusedException refusal) {
        call.result().completeExceptionally(n > 1 ? refusal.afterSent(n - 1) : refusal);
    }

    private CallRefusedException refusedBy(String op, Breaker b) {
        return CallRefusedException.byBreaker(member, op, b);
    }

    private CallRefusedException bulkheadFull(String op) {
        return new CallRefusedException(member, op, "bulkhead", "all " + options.bulkhead().maxConcurrentCalls()
                + " call slots of the member were taken for " + seconds(options.bulkhead().maxWait()));
    }

    private MemberApiException closedFailure(String op) {
        return new MemberApiException(member, op, 0, MemberApiException.Kind.OTHER, null, "member closed", null);
    }

    private RuntimeException translate(String op, Throwable failure, String suffix) {
        return ApiFailures.forCaller(member, op, failure, suffix);
    }

    private static String describe(Throwable failure) {
        return ApiFailures.describeAttempt(failure);
    }

    private static String seconds(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? (ms / 1000) + "s" : ms < 1000 ? ms + "ms" : String.format(Locale.ROOT, "%.1fs", ms / 1000.0);
    }

    /** Runs {@code r} on the timer after {@code nanos}; a closed timer fails the call. */
    private void later(Runnable r, long nanos, Call<?> call) {
        if (schedule(r, nanos) == null) {
            call.result().completeExceptionally(closedFailure(call.op()));
        }
    }

    private ScheduledFuture<?> schedule(Runnable r, long nanos) {
        try {
            return timer.schedule(r, nanos, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            return null;
        }
    }
}
