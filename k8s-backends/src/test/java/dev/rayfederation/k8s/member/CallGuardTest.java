package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.resilience.Breaker;
import dev.rayfederation.k8s.resilience.BreakerRegistry;
import dev.rayfederation.k8s.resilience.BreakerStatus;
import dev.rayfederation.k8s.resilience.CallRefusedException;
import dev.rayfederation.k8s.resilience.ResilienceOptions.BreakerSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.BulkheadSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.RateLimitSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.RetrySettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The guard on its own, with actions standing in for fabric8 calls. */
class CallGuardTest {

    static final BreakerSettings BREAKER = new BreakerSettings(6, 3, 50, 80, Duration.ofSeconds(5), Duration.ofSeconds(30), 2);

    final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    final BreakerRegistry registry = new BreakerRegistry();
    final Breaker cloud = registry.cloud("test", BREAKER);
    final Breaker own = registry.member("m", BREAKER);
    final CountDownLatch release = new CountDownLatch(1);
    final List<CallGuard> guards = new ArrayList<>();

    @AfterEach
    void stop() {
        release.countDown();
        guards.forEach(CallGuard::close);
        timer.shutdownNow();
    }

    CallGuard guard(ResilienceOptions options, Duration requestTimeout) {
        CallGuard g = new CallGuard("m", options, requestTimeout, cloud, own, timer, new RetryAfterWatch(),
                r -> new Thread(r, "member-m-io"));
        guards.add(g);
        return g;
    }

    static ResilienceOptions options(int maxConcurrent, int requestsPerSecond, int maxAttempts) {
        return new ResilienceOptions(BREAKER, new BulkheadSettings(maxConcurrent, Duration.ofMillis(50)),
                new RateLimitSettings(requestsPerSecond, Duration.ofSeconds(10)),
                new RetrySettings(maxAttempts, Duration.ofMillis(20), Duration.ofMillis(40), Duration.ofSeconds(5)));
    }

    String blocked() {
        try {
            release.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return "done";
    }

    static Throwable failureOf(CompletableFuture<?> f) throws Exception {
        try {
            f.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        }
        throw new AssertionError("expected the call to fail");
    }

    @Test
    void aCallFindingEverySlotTakenIsRefusedAfterTheBulkheadsWaitWithoutRunning() throws Exception {
        CallGuard guard = guard(options(1, 1000, 1), Duration.ofSeconds(30));
        AtomicInteger ran = new AtomicInteger();
        CompletableFuture<String> first = guard.call("first", CallGuard.Retry.ONCE, () -> {
            ran.incrementAndGet();
            return blocked();
        });
        await().atMost(Duration.ofSeconds(30)).until(() -> ran.get() == 1);

        Throwable second = failureOf(guard.call("second", CallGuard.Retry.ONCE, () -> "ran " + ran.incrementAndGet()));

        assertThat(second).isInstanceOf(CallRefusedException.class)
                .hasMessage("member m: second failed: not sent: all 1 call slots of the member were taken for 50ms");
        assertThat(((CallRefusedException) second).guard()).isEqualTo("bulkhead");
        assertThat(ran).hasValue(1);
        release.countDown();
        assertThat(first.get(30, TimeUnit.SECONDS)).isEqualTo("done");
    }

    @Test
    void callsBeyondTheRateWaitForTheirTurn() throws Exception {
        CallGuard guard = guard(options(4, 1, 1), Duration.ofSeconds(30));
        List<CompletableFuture<Instant>> calls = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            calls.add(guard.call("call " + i, CallGuard.Retry.ONCE, Instant::now));
        }

        Instant first = calls.get(0).get(30, TimeUnit.SECONDS);
        Instant third = calls.get(2).get(30, TimeUnit.SECONDS);

        assertThat(Duration.between(first, third)).as("one request per second").isGreaterThanOrEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void aRequestThatNeverEndsFailsAtTheRequestTimeoutAndCountsAgainstTheMember() throws Exception {
        CallGuard guard = guard(options(4, 1000, 1), Duration.ofMillis(200));

        Throwable failure = failureOf(guard.call("create pod x", CallGuard.Retry.ONCE, this::blocked));

        assertThat(failure).isInstanceOf(MemberApiException.class)
                .hasMessage("member m: create pod x failed: no answer within 200ms");
        assertThat(((MemberApiException) failure).retryable()).isTrue();
        failureOf(guard.call("again", CallGuard.Retry.ONCE, this::blocked));
        assertThat(own.status().state()).as("2 calls, 3 needed").isEqualTo(BreakerStatus.State.CLOSED);
        failureOf(guard.call("and again", CallGuard.Retry.ONCE, this::blocked));
        assertThat(own.status().state()).isEqualTo(BreakerStatus.State.OPEN);
        assertThat(own.status().reason()).isEqualTo("3 of 3 calls failed, last: no answer within 200ms");
    }

    @Test
    void anIdempotentCallIsRetriedAfterAFailureThatMayPass() throws Exception {
        CallGuard guard = guard(options(4, 1000, 3), Duration.ofSeconds(30));
        AtomicInteger attempts = new AtomicInteger();

        String result = guard.call("get", CallGuard.Retry.IDEMPOTENT, () -> {
            if (attempts.incrementAndGet() < 3) {
                throw new UncheckedIOException(new IOException("Connection reset"));
            }
            return "ok";
        }).get(30, TimeUnit.SECONDS);

        assertThat(result).isEqualTo("ok");
        assertThat(attempts).hasValue(3);
    }

    @Test
    void ourOwnErrorsAreNeitherRetriedNorCounted() throws Exception {
        CallGuard guard = guard(options(4, 1000, 3), Duration.ofSeconds(30));
        AtomicInteger attempts = new AtomicInteger();

        for (int i = 0; i < 5; i++) {
            Throwable failure = failureOf(guard.call("render", CallGuard.Retry.IDEMPOTENT, () -> {
                attempts.incrementAndGet();
                throw new IllegalArgumentException("WorkerPodSpec.podName: is required");
            }));
            assertThat(failure).isInstanceOf(IllegalArgumentException.class).hasMessage("WorkerPodSpec.podName: is required");
        }

        assertThat(attempts).hasValue(5);
        assertThat(own.status().state()).isEqualTo(BreakerStatus.State.CLOSED);
    }

    @Test
    void closingFailsACallWaitingForItsRetry() throws Exception {
        ResilienceOptions slowRetries = options(4, 1000, 3).withRetries(
                new RetrySettings(3, Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(30)));
        CallGuard guard = guard(slowRetries, Duration.ofSeconds(30));
        AtomicInteger attempts = new AtomicInteger();
        CompletableFuture<String> call = guard.call("delete pod x", CallGuard.Retry.IDEMPOTENT, () -> {
            attempts.incrementAndGet();
            throw new UncheckedIOException(new IOException("Connection refused"));
        });
        await().atMost(Duration.ofSeconds(30)).until(() -> attempts.get() == 1);

        guard.close();

        assertThat(failureOf(call)).isInstanceOf(MemberApiException.class).hasMessageContaining("member closed");
    }

    @Test
    void theBackoffStaysBetweenHalfTheExponentialStepAndTheCap() {
        CallGuard guard = guard(options(4, 1000, 5).withRetries(
                new RetrySettings(5, Duration.ofMillis(200), Duration.ofSeconds(2), Duration.ofSeconds(10))), Duration.ofSeconds(1));

        for (int i = 0; i < 200; i++) {
            assertThat(guard.backoff(1)).isBetween(Duration.ofMillis(100), Duration.ofMillis(200));
            assertThat(guard.backoff(3)).isBetween(Duration.ofMillis(400), Duration.ofMillis(800));
            assertThat(guard.backoff(10)).isBetween(Duration.ofSeconds(1), Duration.ofSeconds(2));
        }
    }

    @Test
    void retryAfterIsReadAsSecondsOrAnHttpDate() {
        Instant now = Instant.parse("2025-01-01T00:00:00Z");

        assertThat(RetryAfterWatch.parse("3", now)).isEqualTo(Duration.ofSeconds(3));
        assertThat(RetryAfterWatch.parse("Wed, 01 Jan 2025 00:00:07 GMT", now)).isEqualTo(Duration.ofSeconds(7));
        assertThat(RetryAfterWatch.parse("soon", now)).isZero();
        assertThat(RetryAfterWatch.parse("-1", now)).isZero();
        assertThat(RetryAfterWatch.parse(null, now)).isZero();
    }
}
