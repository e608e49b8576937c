package dev.rayfederation.k8s.resilience;

import dev.rayfederation.k8s.member.MemberClusters;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;

import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The circuit breakers of all member clusters, from one Resilience4j {@link CircuitBreakerRegistry}: one breaker
 * per cloud ("cloud:aws"), shared by every member of that cloud, and one per member ("member:aws-use1"). The
 * sidecar creates ONE registry and connects every member with it ({@link MemberClusters#connect(MemberClusterSpec,
 * MemberClusterOptions, BreakerRegistry)}); members connected without one get a registry of their own and share
 * no cloud breaker.
 *
 * <p>Breakers are count-based with the window, minimum calls, thresholds, open-state wait and half-open trial
 * calls of {@link ResilienceOptions.BreakerSettings}; an open breaker turns half-open on its own once the wait is
 * over (otherwise a member that placement skips would never be tried again). A cloud breaker takes the settings
 * of the first member that asks for it; the sidecar gives all members the same settings.
 */
public final class BreakerRegistry {

    private final CircuitBreakerRegistry registry = CircuitBreakerRegistry.ofDefaults();
    private final ConcurrentMap<String, Breaker> breakers = new ConcurrentHashMap<>();
    private final List<Consumer<BreakerTransition>> listeners = new CopyOnWriteArrayList<>();
    private final List<MemberCallObserver> callObservers = new CopyOnWriteArrayList<>();

    /** Hears every call any member sends to its API server (metrics). */
    public void onCall(MemberCallObserver observer) {
        callObservers.add(observer);
    }

    /** Tells the call observers about one call; used by the members' call guards. */
    public void called(String member, String operation, long nanos, String outcome) {
        for (MemberCallObserver o : callObservers) {
            o.called(member, operation, nanos, outcome);
        }
    }

    /** The breaker shared by the members of {@code cloud}. */
    public Breaker cloud(String cloud, ResilienceOptions.BreakerSettings settings) {
        return breaker(Breaker.CLOUD_PREFIX + requireName(cloud, "cloud"), settings);
    }

    /** The breaker of member {@code name} alone. */
    public Breaker member(String name, ResilienceOptions.BreakerSettings settings) {
        return breaker(Breaker.MEMBER_PREFIX + requireName(name, "member"), settings);
    }

    /** Every breaker created so far, clouds first, by scope: for metrics. */
    public List<BreakerStatus> statuses() {
        return breakers.values().stream().map(Breaker::status).sorted(Comparator.comparing(BreakerStatus::scope)).toList();
    }

    /**
     * Calls {@code listener} after every transition of every breaker, once per transition (a member's own listener
     * also hears its cloud's transitions, so counting there would count a cloud once per member).
     */
    public void onTransition(Consumer<BreakerTransition> listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    private Breaker breaker(String scope, ResilienceOptions.BreakerSettings settings) {
        Objects.requireNonNull(settings, "settings");
        return breakers.computeIfAbsent(scope, name -> {
            Breaker b = new Breaker(registry.circuitBreaker(name, config(settings)), settings);
            b.onTransition(t -> listeners.forEach(l -> l.accept(t)));
            return b;
        });
    }

    static CircuitBreakerConfig config(ResilienceOptions.BreakerSettings s) {
        return CircuitBreakerConfig.custom()
                .slidingWindow(s.slidingWindowSize(), s.minimumCalls(), CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .failureRateThreshold(s.failureRateThreshold())
                .slowCallRateThreshold(s.slowCallRateThreshold())
                .slowCallDurationThreshold(s.slowCallDuration())
                .waitDurationInOpenState(s.waitInOpenState())
                .permittedNumberOfCallsInHalfOpenState(s.halfOpenCalls())
                .automaticTransitionFromOpenToHalfOpenEnabled(true)
                .writableStackTraceEnabled(false)
                .build();
    }

    private static String requireName(String name, String what) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException(what + ": a breaker needs a name");
        }
        return name;
    }
}
