package dev.rayfederation.k8s.resilience;

import dev.rayfederation.k8s.member.MemberClusterOptions;
import dev.rayfederation.k8s.resilience.ResilienceOptions.BreakerSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.RetrySettings;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ResilienceOptionsTest {

    @Test
    void theDefaultsSuitAFiveSecondAutoscalerTick() {
        ResilienceOptions d = MemberClusterOptions.defaults("demo").resilience();

        assertThat(d).isEqualTo(ResilienceOptions.defaults());
        assertThat(d.breaker()).isEqualTo(new BreakerSettings(10, 5, 50, 80, Duration.ofSeconds(5), Duration.ofSeconds(15), 3));
        assertThat(d.bulkhead().maxConcurrentCalls()).isEqualTo(16);
        assertThat(d.rateLimit().requestsPerSecond()).isEqualTo(100);
        assertThat(d.retries()).isEqualTo(new RetrySettings(3, Duration.ofMillis(200), Duration.ofSeconds(2), Duration.ofSeconds(10)));
    }

    @Test
    void outOfRangeSettingsAreRefusedNamingTheField() {
        assertThatThrownBy(() -> new BreakerSettings(10, 12, 50, 80, Duration.ofSeconds(5), Duration.ofSeconds(15), 3))
                .hasMessage("ResilienceOptions.breaker.minimumCalls: must be <= slidingWindowSize (10), got 12");
        assertThatThrownBy(() -> new BreakerSettings(10, 5, 101, 80, Duration.ofSeconds(5), Duration.ofSeconds(15), 3))
                .hasMessage("ResilienceOptions.breaker.failureRateThreshold: must be a percentage from 1 to 100, got 101");
        assertThatThrownBy(() -> new RetrySettings(3, Duration.ofSeconds(3), Duration.ofSeconds(2), Duration.ofSeconds(10)))
                .hasMessageStartingWith("ResilienceOptions.retries.maxBackoff: must be >= initialBackoff");
    }

    @Test
    void theOldOptionConstructorsKeepWorkingWithDefaultResilience() {
        MemberClusterOptions eight = new MemberClusterOptions("demo", null, null, 0, null, null, 2, null);

        assertThat(eight.resilience()).isEqualTo(ResilienceOptions.defaults());
        assertThat(eight.requestRetries()).isEqualTo(2);
        assertThat(eight.withResilience(ResilienceOptions.defaults().withRetries(RetrySettings.none())).resilience().retries().maxAttempts())
                .isEqualTo(1);
    }
}
