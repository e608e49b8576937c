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
        return guard(options, requestTimeout, cloud, own);
    }

    CallGuard guard(ResilienceOptions options, Duration requestTimeout, Breaker cloud, Breaker own) {
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
    void eachAttemptEndsAtItsOwnTimeoutWhenShorterThanTheRequestTimeout() throws Exception {
        CallGuard guard = guard(options(4, 1000, 1), Duration.ofSeconds(30));

        Throwable failure = failureOf(guard.call("create pod x", CallGuard.Retry.IDEMPOTENT, Duration.ofMillis(200), null,
                this::blocked));

        assertThat(failure).isInstanceOf(MemberApiException.class)
                .hasMessage("member m: create pod x failed: no answer within 200ms");
        assertThat(((MemberApiException) failure).what()).isEqualTo("no answer within 200ms");
    }

    @Test
    void noRetryStartsThatCouldNotEndWithinTheBudget() throws Exception {
        // a breaker that does not open on these few failures: the budget alone must stop the retries
        BreakerSettings patient = new BreakerSettings(10, 10, 50, 80, Duration.ofSeconds(5), Duration.ofSeconds(30), 2);
        CallGuard guard = guard(options(8, 1000, 3).withBreaker(patient), Duration.ofSeconds(30), null,
                new BreakerRegistry().member("m", patient));
        AtomicInteger tight = new AtomicInteger();
        AtomicInteger roomy = new AtomicInteger();

        // 200 ms per attempt, 20-40 ms between them: a second attempt would end after 420 ms at the earliest
        failureOf(guard.call("create pod a", CallGuard.Retry.IDEMPOTENT, Duration.ofMillis(200), Duration.ofMillis(400), () -> {
            tight.incrementAndGet();
            return blocked();
        }));
        failureOf(guard.call("create pod b", CallGuard.Retry.IDEMPOTENT, Duration.ofMillis(200), Duration.ofSeconds(20), () -> {
            roomy.incrementAndGet();
            return blocked();
        }));

        assertThat(tight).as("attempts within 400 ms").hasValue(1);
        assertThat(roomy).as("attempts within 20 s").hasValue(3);
    }

    @Test
    void aCallHangingPastTheSlowCallDurationCountsAsSlowAtOnceSoTheBreakerOpensWhileItStillHangs() throws Exception {
        BreakerSettings slowAt100ms = new BreakerSettings(6, 3, 50, 80, Duration.ofMillis(100), Duration.ofSeconds(30), 2);
        BreakerRegistry fresh = new BreakerRegistry();
        Breaker member = fresh.member("m", slowAt100ms);
        CallGuard guard = guard(options(8, 1000, 1).withBreaker(slowAt100ms), Duration.ofSeconds(30), null, member);

        List<CompletableFuture<String>> hanging = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            hanging.add(guard.call("create pod " + i, CallGuard.Retry.ONCE, this::blocked));
        }

        await().atMost(Duration.ofSeconds(30)).until(() -> member.status().state() == BreakerStatus.State.OPEN);
        assertThat(hanging).as("no call has ended").noneMatch(CompletableFuture::isDone);
        assertThat(member.status().reason()).isEqualTo("3 of 3 calls took longer than 100ms");
        Throwable next = failureOf(guard.call("create pod 4", CallGuard.Retry.ONCE, () -> "sent"));
        assertThat(next).isInstanceOf(CallRefusedException.class);
        release.countDown();
        for (CompletableFuture<String> call : hanging) {
            assertThat(call.get(30, TimeUnit.SECONDS)).as("they end as they end, counted once").isEqualTo("done");
        }
        assertThat(member.status().state()).isEqualTo(BreakerStatus.State.OPEN);
    }

    @Test
    void aRetryRefusedByABreakerThatOpenedMeanwhileSaysTheEarlierAttemptWasSent() throws Exception {
        CallGuard guard = guard(options(4, 1000, 3), Duration.ofSeconds(30));
        AtomicInteger attempts = new AtomicInteger();

        Throwable failure = failureOf(guard.call("create pod x", CallGuard.Retry.IDEMPOTENT, () -> {
            attempts.incrementAndGet();
            own.open("the liveness probe found the member unreachable");
            throw new UncheckedIOException(new IOException("Connection reset"));
        }));

        assertThat(attempts).hasValue(1);
        assertThat(failure).isInstanceOf(CallRefusedException.class)
                .hasMessageStartingWith("member m: create pod x failed: not sent: circuit breaker member:m is open since ")
                .hasMessageContaining("(the liveness probe found the member unreachable)")
                .hasMessageEndingWith(" (after 1 attempt without an answer)");
        assertThat(((CallRefusedException) failure).what()).startsWith("not sent: circuit breaker member:m is open since ")
                .endsWith(" (after 1 attempt without an answer)");
        assertThat(((CallRefusedException) failure).sentBefore()).as("its outcome is unknown").isEqualTo(1);
        Throwable refusedAtOnce = failureOf(guard.call("create pod y", CallGuard.Retry.IDEMPOTENT, () -> "sent"));
        assertThat(((CallRefusedException) refusedAtOnce).sentBefore()).as("nothing was ever sent").isZero();
    }

    @Test
    void theProbeGetsThroughWhenEveryCallSlotIsStuck() throws Exception {
        CallGuard guard = guard(options(1, 1000, 1), Duration.ofSeconds(30));
        AtomicInteger ran = new AtomicInteger();
        guard.call("stuck", CallGuard.Retry.ONCE, () -> {
            ran.incrementAndGet();
            return blocked();
        });
        await().atMost(Duration.ofSeconds(30)).until(() -> ran.get() == 1);

        String version = guard.probe("get version", Duration.ofSeconds(5), () -> CompletableFuture.completedFuture("v1.37.2"))
                .get(30, TimeUnit.SECONDS);

        assertThat(version).isEqualTo("v1.37.2");
    }

    @Test
    void aProbeThatNeverAnswersFailsAtItsTimeoutAndCountsAgainstTheMember() throws Exception {
        CallGuard guard = guard(options(4, 1000, 1), Duration.ofSeconds(30));

        for (int i = 0; i < 3; i++) {
            Throwable failure = failureOf(guard.probe("get version", Duration.ofMillis(100), CompletableFuture::new));
            assertThat(failure).isInstanceOf(MemberApiException.class).hasMessageEndingWith("no answer within 100ms");
        }

        assertThat(own.status().state()).isEqualTo(BreakerStatus.State.OPEN);
    }

    @Test
    void successfulProbesDoNotDiluteTheFailuresOfRealCalls() throws Exception {
        CallGuard guard = guard(options(4, 1000, 1), Duration.ofSeconds(30));

        // window 6, at least 3 calls, 50 % failed: with the probes counted it would read 3 of 6 ... 3 of 9
        for (int i = 0; i < 3; i++) {
            failureOf(guard.call("create pod " + i, CallGuard.Retry.ONCE, () -> {
                throw new UncheckedIOException(new IOException("Connection reset"));
            }));
            for (int p = 0; p < 2; p++) {
                guard.probe("get version", Duration.ofSeconds(5), () -> CompletableFuture.completedFuture("v1")).get(30, TimeUnit.SECONDS);
            }
        }

        assertThat(own.status().state()).isEqualTo(BreakerStatus.State.OPEN);
        assertThat(own.status().reason()).startsWith("3 of 3 calls failed");
    }

    @Test
    void anOpenBreakerHearsNothingFromProbesAndAHalfOpenOneClosesOnThemAlone() throws Exception {
        BreakerSettings shortWait = new BreakerSettings(6, 3, 50, 80, Duration.ofSeconds(5), Duration.ofMillis(300), 2);
        Breaker member = new BreakerRegistry().member("m", shortWait);
        CallGuard guard = guard(options(4, 1000, 1).withBreaker(shortWait), Duration.ofSeconds(30), null, member);
        member.open("the liveness probe found the member unreachable");

        assertThat(guard.probe("get version", Duration.ofSeconds(5), () -> CompletableFuture.completedFuture("v1"))
                .get(30, TimeUnit.SECONDS)).as("sent all the same: the member's state follows its answers").isEqualTo("v1");
        assertThat(member.status().state()).isEqualTo(BreakerStatus.State.OPEN);
        await().atMost(Duration.ofSeconds(30)).until(() -> member.status().state() == BreakerStatus.State.HALF_OPEN);

        for (int i = 0; i < 2; i++) {
            guard.probe("get version", Duration.ofSeconds(5), () -> CompletableFuture.completedFuture("v1")).get(30, TimeUnit.SECONDS);
        }

        assertThat(member.status().state()).isEqualTo(BreakerStatus.State.CLOSED);
        assertThat(member.status().reason()).isEqualTo("2 trial calls succeeded");
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
