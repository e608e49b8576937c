package dev.rayfederation.k8s.resilience;

import java.time.Duration;
import java.util.Objects;

/**
 * How every call to a member's Kubernetes API is guarded: circuit breakers (one per cloud, one per member),
 * a bulkhead and a rate limit per member, and retries of idempotent calls. The defaults suit an autoscaler
 * that asks every 5 seconds: an outage opens a breaker within a tick or two, and a recovered member gets
 * trial calls 15 seconds later (Resilience4j's own defaults, 100 calls and 60 seconds, would take minutes).
 * A null section takes its defaults.
 *
 * @param breaker   the circuit breakers (the same settings for the cloud and the member breakers)
 * @param bulkhead  concurrent calls per member
 * @param rateLimit requests per second per member
 * @param retries   retries of idempotent calls after failures that may pass
 * @param probe     the liveness probe that notices a silent member without waiting for traffic
 * @param holdOut   how long a member that keeps flapping is kept out of placement
 * @param create    deadlines of one create call and of the whole create request
 */
public record ResilienceOptions(BreakerSettings breaker, BulkheadSettings bulkhead, RateLimitSettings rateLimit,
                                RetrySettings retries, ProbeSettings probe, HoldOutSettings holdOut,
                                CreateSettings create) {

    public ResilienceOptions {
        breaker = breaker == null ? BreakerSettings.defaults() : breaker;
        bulkhead = bulkhead == null ? BulkheadSettings.defaults() : bulkhead;
        rateLimit = rateLimit == null ? RateLimitSettings.defaults() : rateLimit;
        retries = retries == null ? RetrySettings.defaults() : retries;
        probe = probe == null ? ProbeSettings.defaults() : probe;
        holdOut = holdOut == null ? HoldOutSettings.defaults() : holdOut;
        create = create == null ? CreateSettings.defaults() : create;
    }

    /** The four classic guards; probe, hold-out and create deadlines at their defaults. */
    public ResilienceOptions(BreakerSettings breaker, BulkheadSettings bulkhead, RateLimitSettings rateLimit,
                             RetrySettings retries) {
        this(breaker, bulkhead, rateLimit, retries, null, null, null);
    }

    /** Every setting at its default. */
    public static ResilienceOptions defaults() {
        return new ResilienceOptions(null, null, null, null, null, null, null);
    }

    public ResilienceOptions withBreaker(BreakerSettings b) {
        return new ResilienceOptions(b, bulkhead, rateLimit, retries, probe, holdOut, create);
    }

    public ResilienceOptions withBulkhead(BulkheadSettings b) {
        return new ResilienceOptions(breaker, b, rateLimit, retries, probe, holdOut, create);
    }

    public ResilienceOptions withRateLimit(RateLimitSettings r) {
        return new ResilienceOptions(breaker, bulkhead, r, retries, probe, holdOut, create);
    }

    public ResilienceOptions withRetries(RetrySettings r) {
        return new ResilienceOptions(breaker, bulkhead, rateLimit, r, probe, holdOut, create);
    }

    public ResilienceOptions withProbe(ProbeSettings p) {
        return new ResilienceOptions(breaker, bulkhead, rateLimit, retries, p, holdOut, create);
    }

    public ResilienceOptions withHoldOut(HoldOutSettings h) {
        return new ResilienceOptions(breaker, bulkhead, rateLimit, retries, probe, h, create);
    }

    public ResilienceOptions withCreate(CreateSettings c) {
        return new ResilienceOptions(breaker, bulkhead, rateLimit, retries, probe, holdOut, c);
    }

    /**
     * A count-based circuit breaker: it looks at the last {@code slidingWindowSize} calls and opens when at least
     * {@code minimumCalls} of them have been made and either {@code failureRateThreshold} percent failed or
     * {@code slowCallRateThreshold} percent took longer than {@code slowCallDuration}. It stays open for
     * {@code waitInOpenState}, then lets {@code halfOpenCalls} trial calls through: it closes when they do well
     * and opens again when they do not.
     */
    public record BreakerSettings(int slidingWindowSize, int minimumCalls, int failureRateThreshold,
                                  int slowCallRateThreshold, Duration slowCallDuration, Duration waitInOpenState,
                                  int halfOpenCalls) {

        public static final int DEFAULT_SLIDING_WINDOW_SIZE = 10;
        public static final int DEFAULT_MINIMUM_CALLS = 5;
        public static final int DEFAULT_FAILURE_RATE_THRESHOLD = 50;
        public static final int DEFAULT_SLOW_CALL_RATE_THRESHOLD = 80;
        public static final Duration DEFAULT_SLOW_CALL_DURATION = Duration.ofSeconds(5);
        public static final Duration DEFAULT_WAIT_IN_OPEN_STATE = Duration.ofSeconds(15);
        public static final int DEFAULT_HALF_OPEN_CALLS = 3;

        /** @throws IllegalArgumentException naming the first setting out of range */
        public BreakerSettings {
            atLeastOne("breaker.slidingWindowSize", slidingWindowSize);
            atLeastOne("breaker.minimumCalls", minimumCalls);
            if (minimumCalls > slidingWindowSize) {
                throw new IllegalArgumentException("ResilienceOptions.breaker.minimumCalls: must be <= slidingWindowSize ("
                        + slidingWindowSize + "), got " + minimumCalls);
            }
            percentage("breaker.failureRateThreshold", failureRateThreshold);
            percentage("breaker.slowCallRateThreshold", slowCallRateThreshold);
            positive("breaker.slowCallDuration", slowCallDuration);
            positive("breaker.waitInOpenState", waitInOpenState);
            atLeastOne("breaker.halfOpenCalls", halfOpenCalls);
        }

        public static BreakerSettings defaults() {
            return new BreakerSettings(DEFAULT_SLIDING_WINDOW_SIZE, DEFAULT_MINIMUM_CALLS, DEFAULT_FAILURE_RATE_THRESHOLD,
                    DEFAULT_SLOW_CALL_RATE_THRESHOLD, DEFAULT_SLOW_CALL_DURATION, DEFAULT_WAIT_IN_OPEN_STATE,
                    DEFAULT_HALF_OPEN_CALLS);
        }
    }

    /**
     * At most {@code maxConcurrentCalls} requests to one member are in flight. A call that finds them all taken
     * waits its turn, first come first served and without holding a thread, for up to {@code maxWait}; it is
     * refused only when that time is up or when 64 × {@code maxConcurrentCalls} calls already wait.
     */
    public record BulkheadSettings(int maxConcurrentCalls, Duration maxWait) {

        public static final int DEFAULT_MAX_CONCURRENT_CALLS = 16;
        public static final Duration DEFAULT_MAX_WAIT = Duration.ofSeconds(10); // bursts of creates queue rather than fail

        /** @throws IllegalArgumentException naming the first setting out of range */
        public BulkheadSettings {
            atLeastOne("bulkhead.maxConcurrentCalls", maxConcurrentCalls);
            positive("bulkhead.maxWait", maxWait);
        }

        public static BulkheadSettings defaults() {
            return new BulkheadSettings(DEFAULT_MAX_CONCURRENT_CALLS, DEFAULT_MAX_WAIT);
        }
    }

    /**
     * At most {@code requestsPerSecond} requests to one member start per second (retries included). A call waits
     * for its turn without holding a thread, up to {@code maxWait}; a call whose turn would come later is refused.
     * The default of 100 lets three members take 10,000 workers within a minute.
     */
    public record RateLimitSettings(int requestsPerSecond, Duration maxWait) {

        public static final int DEFAULT_REQUESTS_PER_SECOND = 100;
        public static final Duration DEFAULT_MAX_WAIT = Duration.ofSeconds(60);

        /** @throws IllegalArgumentException naming the first setting out of range */
        public RateLimitSettings {
            atLeastOne("rateLimit.requestsPerSecond", requestsPerSecond);
            positive("rateLimit.maxWait", maxWait);
        }

        public static RateLimitSettings defaults() {
            return new RateLimitSettings(DEFAULT_REQUESTS_PER_SECOND, DEFAULT_MAX_WAIT);
        }
    }

    /**
     * An idempotent call that failed in a way that may pass (no answer, 408, 429, 5xx) is tried
     * up to {@code maxAttempts} times in all. Before attempt n+1 it waits a random time between half and all of
     * {@code initialBackoff × 2^(n-1)}, capped at {@code maxBackoff}; when the API server sent Retry-After, at
     * least that long. A Retry-After longer than {@code maxRetryAfter} ends the retries at once.
     */
    public record RetrySettings(int maxAttempts, Duration initialBackoff, Duration maxBackoff, Duration maxRetryAfter) {

        public static final int DEFAULT_MAX_ATTEMPTS = 3;
        public static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofMillis(200);
        public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofSeconds(2);
        public static final Duration DEFAULT_MAX_RETRY_AFTER = Duration.ofSeconds(10);

        /** @throws IllegalArgumentException naming the first setting out of range */
        public RetrySettings {
            atLeastOne("retries.maxAttempts", maxAttempts);
            positive("retries.initialBackoff", initialBackoff);
            positive("retries.maxBackoff", maxBackoff);
            if (maxBackoff.compareTo(initialBackoff) < 0) {
                throw new IllegalArgumentException("ResilienceOptions.retries.maxBackoff: must be >= initialBackoff ("
                        + initialBackoff + "), got " + maxBackoff);
            }
            positive("retries.maxRetryAfter", maxRetryAfter);
        }

        public static RetrySettings defaults() {
            return new RetrySettings(DEFAULT_MAX_ATTEMPTS, DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_BACKOFF, DEFAULT_MAX_RETRY_AFTER);
        }

        /** One attempt only. */
        public static RetrySettings none() {
            return new RetrySettings(1, DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_BACKOFF, DEFAULT_MAX_RETRY_AFTER);
        }
    }

    /**
     * A member is probed every {@code interval} with a cheap read (GET /version) that must answer within
     * {@code timeout}; {@code failuresToUnreachable} failures in a row make it unreachable and open its breakers.
     * Watches alone cannot tell: a blackholed member keeps its watch connections open and silent.
     */
    public record ProbeSettings(Duration interval, Duration timeout, int failuresToUnreachable) {

        public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(1);
        public static final Duration DEFAULT_TIMEOUT = Duration.ofMillis(1500);
        public static final int DEFAULT_FAILURES_TO_UNREACHABLE = 2;

        /** @throws IllegalArgumentException naming the first setting out of range */
        public ProbeSettings {
            positive("probe.interval", interval);
            positive("probe.timeout", timeout);
            atLeastOne("probe.failuresToUnreachable", failuresToUnreachable);
        }

        public static ProbeSettings defaults() {
            return new ProbeSettings(DEFAULT_INTERVAL, DEFAULT_TIMEOUT, DEFAULT_FAILURES_TO_UNREACHABLE);
        }
    }

    /**
     * A member that becomes unreachable again soon after recovering is held out of placement: from its
     * {@code afterFlaps}-th flap for {@code initial}, doubling at every further flap up to {@code max}.
     */
    public record HoldOutSettings(int afterFlaps, Duration initial, Duration max) {

        public static final int DEFAULT_AFTER_FLAPS = 2;
        public static final Duration DEFAULT_INITIAL = Duration.ofSeconds(30);
        public static final Duration DEFAULT_MAX = Duration.ofMinutes(5);

        /** @throws IllegalArgumentException naming the first setting out of range */
        public HoldOutSettings {
            atLeastOne("holdOut.afterFlaps", afterFlaps);
            positive("holdOut.initial", initial);
            positive("holdOut.max", max);
            if (max.compareTo(initial) < 0) {
                throw new IllegalArgumentException("ResilienceOptions.holdOut.max: must be >= initial (" + initial + "), got " + max);
            }
        }

        public static HoldOutSettings defaults() {
            return new HoldOutSettings(DEFAULT_AFTER_FLAPS, DEFAULT_INITIAL, DEFAULT_MAX);
        }
    }

    /**
     * One attempt to create a pod gets {@code attemptTimeout}; the whole create request answers within
     * {@code deadline}, which must stay inside the autoscaler plugin's timeout so that Ray never gives up on a
     * request the sidecar is still working on (workers not yet confirmed are then listed as pending).
     */
    public record CreateSettings(Duration attemptTimeout, Duration deadline) {

        public static final Duration DEFAULT_ATTEMPT_TIMEOUT = Duration.ofSeconds(2);
        public static final Duration DEFAULT_DEADLINE = Duration.ofMillis(3500);
        /** The plugin's HTTP timeout for a create call. */
        public static final Duration PLUGIN_TIMEOUT = Duration.ofSeconds(4);

        /** @throws IllegalArgumentException naming the first setting out of range */
        public CreateSettings {
            positive("create.attemptTimeout", attemptTimeout);
            positive("create.deadline", deadline);
            if (deadline.compareTo(PLUGIN_TIMEOUT) >= 0) {
                throw new IllegalArgumentException("ResilienceOptions.create.deadline: must be shorter than the autoscaler plugin's timeout ("
                        + PLUGIN_TIMEOUT.toSeconds() + "s), got " + deadline);
            }
            if (attemptTimeout.compareTo(deadline) > 0) {
                throw new IllegalArgumentException("ResilienceOptions.create.attemptTimeout: must be <= deadline (" + deadline
                        + "), got " + attemptTimeout);
            }
        }

        public static CreateSettings defaults() {
            return new CreateSettings(DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_DEADLINE);
        }
    }

    private static void atLeastOne(String field, int value) {
        if (value < 1) {
            throw new IllegalArgumentException("ResilienceOptions." + field + ": must be >= 1, got " + value);
        }
    }

    private static void percentage(String field, int value) {
        if (value < 1 || value > 100) {
            throw new IllegalArgumentException("ResilienceOptions." + field + ": must be a percentage from 1 to 100, got " + value);
        }
    }

    private static void positive(String field, Duration value) {
        Objects.requireNonNull(value, () -> "ResilienceOptions." + field + ": is required");
        if (value.isZero() || value.isNegative()) {
            throw new IllegalArgumentException("ResilienceOptions." + field + ": must be longer than 0, got " + value);
        }
    }
}
