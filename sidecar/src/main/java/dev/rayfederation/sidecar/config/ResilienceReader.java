package dev.rayfederation.sidecar.config;

import dev.rayfederation.k8s.resilience.ResilienceOptions.BreakerSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.BulkheadSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.CreateSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.HoldOutSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.ProbeSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.RateLimitSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.RetrySettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions;

import java.time.Duration;
import java.util.List;

/**
 * Reads {@code resilience} (extension, all optional): the circuit breakers, bulkhead, rate limit and retries that
 * guard every call to a member's API. A value with a problem is reported and replaced by its default, so the
 * result is always a valid {@link ResilienceOptions} (only meaningful when no problem was found).
 *
 * <pre>
 * resilience:
 *   breaker:   {slidingWindowSize: 10, minimumCalls: 5, failureRateThreshold: 50, slowCallRateThreshold: 80,
 *               slowCallDuration: 5s, waitInOpenState: 15s, halfOpenCalls: 3}
 *   bulkhead:  {maxConcurrentCalls: 16, maxWait: 10s}
 *   rateLimit: {requestsPerSecond: 100, maxWait: 60s}
 *   retries:   {maxAttempts: 3, initialBackoff: 200ms, maxBackoff: 2s, maxRetryAfter: 10s}
 *   probe:     {interval: 1s, timeout: 1500ms, failuresToUnreachable: 2}
 *   holdOut:   {afterFlaps: 2, initial: 30s, max: 5m}
 *   create:    {attemptTimeout: 2s, deadline: 3500ms}
 * </pre>
 */
final class ResilienceReader {

    static final int MAX_SLIDING_WINDOW = 1000;
    static final int MAX_CONCURRENT_CALLS = 512;
    static final int MAX_ATTEMPTS = 10;
    static final int MAX_FLAPS = 1000;

    private ResilienceReader() {
    }

    static ResilienceOptions read(ConfigNode section) {
        if (!section.isPresent() || !section.isMap()) {
            return ResilienceOptions.defaults();
        }
        section.rejectUnknownKeys(List.of("breaker", "bulkhead", "rateLimit", "retries", "probe", "holdOut", "create"));
        return new ResilienceOptions(breaker(section.field("breaker")), bulkhead(section.field("bulkhead")),
                rateLimit(section.field("rateLimit")), retries(section.field("retries")), probe(section.field("probe")),
                holdOut(section.field("holdOut")), create(section.field("create")));
    }

    private static ProbeSettings probe(ConfigNode s) {
        ProbeSettings d = ProbeSettings.defaults();
        if (!s.isPresent() || !s.isMap()) {
            return d;
        }
        s.rejectUnknownKeys(List.of("interval", "timeout", "failuresToUnreachable"));
        return new ProbeSettings(positive(s.field("interval"), d.interval()), positive(s.field("timeout"), d.timeout()),
                count(s.field("failuresToUnreachable"), d.failuresToUnreachable(), MAX_ATTEMPTS));
    }

    private static HoldOutSettings holdOut(ConfigNode s) {
        HoldOutSettings d = HoldOutSettings.defaults();
        if (!s.isPresent() || !s.isMap()) {
            return d;
        }
        s.rejectUnknownKeys(List.of("afterFlaps", "initial", "max"));
        Duration initial = positive(s.field("initial"), d.initial());
        Duration max = positive(s.field("max"), d.max());
        if (max.compareTo(initial) < 0) {
            s.field("max").problem("must be >= initial (" + Durations.format(initial) + ")");
            max = initial;
        }
        return new HoldOutSettings(count(s.field("afterFlaps"), d.afterFlaps(), MAX_FLAPS), initial, max);
    }

    private static CreateSettings create(ConfigNode s) {
        CreateSettings d = CreateSettings.defaults();
        if (!s.isPresent() || !s.isMap()) {
            return d;
        }
        s.rejectUnknownKeys(List.of("attemptTimeout", "deadline"));
        Duration deadline = positive(s.field("deadline"), d.deadline());
        if (deadline.compareTo(CreateSettings.PLUGIN_TIMEOUT) >= 0) {
            s.field("deadline").problem("must be shorter than the autoscaler plugin's timeout of "
                    + Durations.format(CreateSettings.PLUGIN_TIMEOUT) + ": Ray would give up on the create first");
            deadline = d.deadline();
        }
        Duration attempt = positive(s.field("attemptTimeout"), d.attemptTimeout());
        if (attempt.compareTo(deadline) > 0) {
            s.field("attemptTimeout").problem("must be <= deadline (" + Durations.format(deadline) + ")");
            attempt = deadline;
        }
        return new CreateSettings(attempt, deadline);
    }

    private static BreakerSettings breaker(ConfigNode s) {
        BreakerSettings d = BreakerSettings.defaults();
        if (!s.isPresent() || !s.isMap()) {
            return d;
        }
        s.rejectUnknownKeys(List.of("slidingWindowSize", "minimumCalls", "failureRateThreshold", "slowCallRateThreshold",
                "slowCallDuration", "waitInOpenState", "halfOpenCalls"));
        int window = count(s.field("slidingWindowSize"), d.slidingWindowSize(), MAX_SLIDING_WINDOW);
        int minimum = count(s.field("minimumCalls"), d.minimumCalls(), MAX_SLIDING_WINDOW);
        if (minimum > window) {
            s.field("minimumCalls").problem("must be <= slidingWindowSize (" + window + "): the breaker only remembers "
                    + window + " calls");
            minimum = window;
        }
        return new BreakerSettings(window, minimum,
                percentage(s.field("failureRateThreshold"), d.failureRateThreshold()),
                percentage(s.field("slowCallRateThreshold"), d.slowCallRateThreshold()),
                positive(s.field("slowCallDuration"), d.slowCallDuration()),
                positive(s.field("waitInOpenState"), d.waitInOpenState()),
                count(s.field("halfOpenCalls"), d.halfOpenCalls(), MAX_SLIDING_WINDOW));
    }

    private static BulkheadSettings bulkhead(ConfigNode s) {
        BulkheadSettings d = BulkheadSettings.defaults();
        if (!s.isPresent() || !s.isMap()) {
            return d;
        }
        s.rejectUnknownKeys(List.of("maxConcurrentCalls", "maxWait"));
        return new BulkheadSettings(count(s.field("maxConcurrentCalls"), d.maxConcurrentCalls(), MAX_CONCURRENT_CALLS),
                positive(s.field("maxWait"), d.maxWait()));
    }

    private static RateLimitSettings rateLimit(ConfigNode s) {
        RateLimitSettings d = RateLimitSettings.defaults();
        if (!s.isPresent() || !s.isMap()) {
            return d;
        }
        s.rejectUnknownKeys(List.of("requestsPerSecond", "maxWait"));
        return new RateLimitSettings(count(s.field("requestsPerSecond"), d.requestsPerSecond(), Integer.MAX_VALUE),
                positive(s.field("maxWait"), d.maxWait()));
    }

    private static RetrySettings retries(ConfigNode s) {
        RetrySettings d = RetrySettings.defaults();
        if (!s.isPresent() || !s.isMap()) {
            return d;
        }
        s.rejectUnknownKeys(List.of("maxAttempts", "initialBackoff", "maxBackoff", "maxRetryAfter"));
        int attempts = count(s.field("maxAttempts"), d.maxAttempts(), MAX_ATTEMPTS);
        Duration initial = positive(s.field("initialBackoff"), d.initialBackoff());
        Duration max = positive(s.field("maxBackoff"), d.maxBackoff());
        if (max.compareTo(initial) < 0) {
            s.field("maxBackoff").problem("must be >= initialBackoff (" + Durations.format(initial) + ")");
            max = initial;
        }
        return new RetrySettings(attempts, initial, max, positive(s.field("maxRetryAfter"), d.maxRetryAfter()));
    }

    /** A whole number from 1 to {@code max}; the fallback when absent or wrong (the latter reported). */
    private static int count(ConfigNode field, int fallback, int max) {
        Integer value = field.integer().orElse(null);
        if (value == null) {
            return fallback;
        }
        if (value < 1) {
            field.problem("must be >= 1");
            return fallback;
        }
        if (value > max) {
            field.problem("must be <= " + max);
            return fallback;
        }
        return value;
    }

    /** A whole percentage from 1 to 100. */
    private static int percentage(ConfigNode field, int fallback) {
        Integer value = field.integer().orElse(null);
        if (value == null) {
            return fallback;
        }
        if (value < 1 || value > 100) {
            field.problem("must be a percentage from 1 to 100 (got " + value + ")");
            return fallback;
        }
        return value;
    }

    /** A duration longer than 0; the fallback when absent or wrong (the latter reported). */
    private static Duration positive(ConfigNode field, Duration fallback) {
        Duration d = ConfigReader.duration(field, fallback);
        return d.isZero() ? fallback : d;
    }
}
