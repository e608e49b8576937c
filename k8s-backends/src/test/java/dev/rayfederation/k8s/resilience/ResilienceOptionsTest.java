package dev.rayfederation.k8s.resilience;

import dev.rayfederation.k8s.member.MemberClusterOptions;
import dev.rayfederation.k8s.resilience.ResilienceOptions.BreakerSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.CreateSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.HoldOutSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.ProbeSettings;
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
        assertThat(d.probe()).isEqualTo(new ProbeSettings(Duration.ofSeconds(1), Duration.ofMillis(1500), 2));
        assertThat(d.holdOut()).isEqualTo(new HoldOutSettings(2, Duration.ofSeconds(30), Duration.ofMinutes(5)));
        assertThat(d.create()).isEqualTo(new CreateSettings(Duration.ofSeconds(2), Duration.ofMillis(3500)));
        assertThat(d.create().deadline()).as("answered before the plugin gives up").isLessThan(CreateSettings.PLUGIN_TIMEOUT);
    }

    @Test
    void probeHoldOutAndCreateSettingsOutOfRangeAreRefusedNamingTheField() {
        assertThatThrownBy(() -> new ProbeSettings(Duration.ZERO, Duration.ofSeconds(1), 2))
                .hasMessage("ResilienceOptions.probe.interval: must be longer than 0, got PT0S");
        assertThatThrownBy(() -> new ProbeSettings(Duration.ofSeconds(1), Duration.ofMillis(-5), 2))
                .hasMessage("ResilienceOptions.probe.timeout: must be longer than 0, got PT-0.005S");
        assertThatThrownBy(() -> new ProbeSettings(Duration.ofSeconds(1), Duration.ofSeconds(1), 0))
                .hasMessage("ResilienceOptions.probe.failuresToUnreachable: must be >= 1, got 0");
        assertThatThrownBy(() -> new HoldOutSettings(0, Duration.ofSeconds(30), Duration.ofMinutes(5)))
                .hasMessage("ResilienceOptions.holdOut.afterFlaps: must be >= 1, got 0");
        assertThatThrownBy(() -> new HoldOutSettings(2, Duration.ofSeconds(30), Duration.ofSeconds(10)))
                .hasMessage("ResilienceOptions.holdOut.max: must be >= initial (PT30S), got PT10S");
        assertThatThrownBy(() -> new HoldOutSettings(2, null, Duration.ofSeconds(10)))
                .hasMessage("ResilienceOptions.holdOut.initial: is required");
        assertThatThrownBy(() -> new CreateSettings(Duration.ofSeconds(2), Duration.ofSeconds(4)))
                .hasMessage("ResilienceOptions.create.deadline: must be shorter than the autoscaler plugin's timeout (4s), got PT4S");
        assertThatThrownBy(() -> new CreateSettings(Duration.ofMillis(3600), Duration.ofMillis(3500)))
                .hasMessage("ResilienceOptions.create.attemptTimeout: must be <= deadline (PT3.5S), got PT3.6S");
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
