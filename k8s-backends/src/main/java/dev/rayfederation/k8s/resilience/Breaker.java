package dev.rayfederation.k8s.resilience;

import dev.rayfederation.k8s.resilience.BreakerStatus.State;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.event.CircuitBreakerOnStateTransitionEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One circuit breaker ("cloud:aws" or "member:aws-use1") from a {@link BreakerRegistry}: a Resilience4j
 * {@link CircuitBreaker} plus what GET /v1/clusters shows about it (state, since when, why). Members record
 * each call they make in their cloud's breaker and in their own; the breaker does not decide what counts as
 * a failure (the member's call guard does).
 *
 * <p>Thread-safe. Transition listeners run on the thread that caused the transition (a member's call thread,
 * or Resilience4j's timer thread when an open breaker turns half-open); they must be quick.
 */
public final class Breaker {

    public static final String CLOUD_PREFIX = "cloud:";
    public static final String MEMBER_PREFIX = "member:";

    private static final Logger LOG = LoggerFactory.getLogger(Breaker.class);

    private final CircuitBreaker circuitBreaker;
    private final ResilienceOptions.BreakerSettings settings;
    private final List<Consumer<BreakerTransition>> listeners = new CopyOnWriteArrayList<>();
    private volatile BreakerStatus status;
    private volatile String lastFailure;
    private volatile String openedBecause; // set only while open(reason) makes the transition

    Breaker(CircuitBreaker circuitBreaker, ResilienceOptions.BreakerSettings settings) {
        this.circuitBreaker = circuitBreaker;
        this.settings = settings;
        this.status = BreakerStatus.closed(circuitBreaker.getName(), Instant.now());
        circuitBreaker.getEventPublisher().onStateTransition(this::transitioned);
    }

    /** "cloud:aws" or "member:aws-use1". */
    public String scope() {
        return circuitBreaker.getName();
    }

    public BreakerStatus status() {
        return status;
    }

    /** The settings it was created with (a shared cloud breaker keeps those of the first member that asked). */
    public ResilienceOptions.BreakerSettings settings() {
        return settings;
    }

    /** True while open: a call would be refused without asking. Cheap, and takes no trial-call permit. */
    public boolean isOpen() {
        return map(circuitBreaker.getState()) == State.OPEN;
    }

    /** Asks to make one call; every permitted call must end in exactly one of the record or release methods. */
    public boolean tryAcquirePermission() {
        return circuitBreaker.tryAcquirePermission();
    }

    /** The permitted call was not made after all (or its outcome says nothing about the member). */
    public void releasePermission() {
        circuitBreaker.releasePermission();
    }

    /** The call got an answer that says the member works (success, or a 4xx caused by our own request). */
    public void recordSuccess(long durationNanos) {
        circuitBreaker.onSuccess(durationNanos, TimeUnit.NANOSECONDS);
    }

    /**
     * The call failed in a way that counts against the member (no answer, 408, 429, 5xx).
     *
     * @param description short and credential-free, shown as the last failure in the reason
     */
    public void recordFailure(long durationNanos, Throwable failure, String description) {
        lastFailure = description;
        circuitBreaker.onError(durationNanos, TimeUnit.NANOSECONDS, failure);
    }

    /**
     * Opens this breaker now, whatever its window says: the member's liveness probe found it unreachable.
     * {@code reason} becomes the transition's reason. A breaker that is already open stays as it is.
     */
    public void open(String reason) {
        if (isOpen()) {
            return;
        }
        openedBecause = reason;
        try {
            circuitBreaker.transitionToOpenState();
        } catch (IllegalStateException raced) {
            // another thread moved it first (to open, most likely): nothing to add
        } finally {
            openedBecause = null;
        }
    }

    /** When an open breaker lets trial calls through again. */
    public Instant trialCallsFrom() {
        BreakerStatus s = status;
        return s.state() == State.OPEN ? s.since().plus(settings.waitInOpenState()) : Instant.now();
    }

    /**
     * Calls {@code listener} after every transition of this breaker.
     *
     * @return stops the calls (a member that closes unsubscribes from its shared cloud breaker)
     */
    public Runnable onTransition(Consumer<BreakerTransition> listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    private void transitioned(CircuitBreakerOnStateTransitionEvent event) {
        State from = map(event.getStateTransition().getFromState());
        State to = map(event.getStateTransition().getToState());
        if (from == to) {
            return;
        }
        Instant at = event.getCreationTime().toInstant();
        String reason = reason(from, to);
        status = new BreakerStatus(to, scope(), at, reason);
        if (to == State.CLOSED) {
            LOG.info("circuit breaker {}: {} (was {}): {}", scope(), to.wire(), from.wire(), reason);
        } else {
            LOG.warn("circuit breaker {}: {} (was {}): {}", scope(), to.wire(), from.wire(), reason);
        }
        BreakerTransition transition = new BreakerTransition(scope(), from, to, at, reason);
        for (Consumer<BreakerTransition> l : listeners) {
            try {
                l.accept(transition);
            } catch (RuntimeException e) {
                LOG.warn("circuit breaker {}: transition listener failed", scope(), e);
            }
        }
    }

    /** Read while the breaker's metrics still hold the calls that caused the transition. */
    private String reason(State from, State to) {
        CircuitBreaker.Metrics m = circuitBreaker.getMetrics();
        return switch (to) {
            case OPEN -> {
                String because = openedBecause;
                if (because != null) {
                    yield because;
                }
                String calls = from == State.HALF_OPEN ? "trial calls" : "calls";
                int buffered = m.getNumberOfBufferedCalls();
                if (m.getFailureRate() >= settings.failureRateThreshold()) {
                    String last = lastFailure;
                    yield m.getNumberOfFailedCalls() + " of " + buffered + " " + calls + " failed"
                            + (last == null ? "" : ", last: " + last);
                }
                yield m.getNumberOfSlowCalls() + " of " + buffered + " " + calls + " took longer than "
                        + seconds(settings.slowCallDuration());
            }
            case HALF_OPEN -> "open for " + seconds(settings.waitInOpenState()) + ": letting "
                    + settings.halfOpenCalls() + " trial call" + (settings.halfOpenCalls() == 1 ? "" : "s") + " through";
            case CLOSED -> from == State.HALF_OPEN
                    ? settings.halfOpenCalls() + " trial call" + (settings.halfOpenCalls() == 1 ? "" : "s") + " succeeded"
                    : "reset";
        };
    }

    static State map(CircuitBreaker.State s) {
        return switch (s) {
            case OPEN, FORCED_OPEN -> State.OPEN;
            case HALF_OPEN -> State.HALF_OPEN;
            default -> State.CLOSED;
        };
    }

    static String seconds(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? (ms / 1000) + "s" : ms < 1000 ? ms + "ms" : String.format(Locale.ROOT, "%.1fs", ms / 1000.0);
    }
}
