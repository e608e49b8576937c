package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.resilience.ResilienceOptions.HoldOutSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.ProbeSettings;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/** The bookkeeping behind the liveness probe, on a clock of its own. */
@DisplayName("Probe health")
class ProbeHealthTest {

    static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    final ProbeHealth health = new ProbeHealth(ProbeSettings.defaults(), HoldOutSettings.defaults());

    /** One flap: two failed probes at {@code at}, then an answer 10 s later; returns when it answered. */
    Instant flap(Instant at) {
        health.failed("no answer within 1.5s", at);
        health.failed("no answer within 1.5s", at.plusSeconds(1));
        Instant back = at.plusSeconds(11);
        health.answered(back);
        return back;
    }

    @Test
    @DisplayName("one failed probe is not an outage; two in a row are, and the first answer ends it")
    void twoFailuresInARowMakeItUnreachable() {
        assertThat(health.failed("no answer within 1.5s", T0)).isFalse();
        assertThat(health.answered(T0.plusSeconds(1))).as("the count starts again").isFalse();
        assertThat(health.failed("no answer within 1.5s", T0.plusSeconds(2))).isFalse();
        assertThat(health.failed("connection reset", T0.plusSeconds(3))).isTrue();
        assertThat(health.unreachable()).isTrue();
        assertThat(health.unreachableReason("https://api.example:6443")).isEqualTo("no answer from the API server "
                + "https://api.example:6443 to 2 liveness probes in a row (GET /version, 1.5s each), last: connection reset; "
                + "showing the last known pods");
        assertThat(health.answered(T0.plusSeconds(4))).isTrue();
        assertThat(health.unreachable()).isFalse();
    }

    @Test
    @DisplayName("held out from the 2nd flap for 30 s, doubling with every flap up to 5 minutes")
    void theHoldOutDoublesUpToItsMaximum() {
        Instant back = flap(T0);
        assertThat(health.heldOutUntil(back)).as("first flap").isNull();
        assertThat(health.heldOutReason(back)).isNull();

        back = flap(back.plusSeconds(5));
        assertThat(health.heldOutUntil(back)).isEqualTo(back.plusSeconds(30));
        assertThat(health.heldOutReason(back.plusSeconds(29))).isEqualTo("held out until " + back.plusSeconds(30)
                + ": it became unreachable 2 times recently (flapping)");
        assertThat(health.heldOutUntil(back.plusSeconds(30))).as("over").isNull();

        back = flap(back.plusSeconds(5));
        assertThat(health.heldOutUntil(back)).isEqualTo(back.plusSeconds(60));
        assertThat(health.holdFor(4)).isEqualTo(Duration.ofSeconds(120));
        assertThat(health.holdFor(5)).isEqualTo(Duration.ofSeconds(240));
        assertThat(health.holdFor(6)).isEqualTo(Duration.ofMinutes(5));
        assertThat(health.holdFor(60)).isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    @DisplayName("a member steady for the longest hold-out starts counting flaps from zero")
    void aSteadyMemberIsForgiven() {
        Instant back = flap(flap(T0).plusSeconds(5));
        assertThat(health.flaps()).isEqualTo(2);

        back = flap(back.plus(Duration.ofMinutes(5)));

        assertThat(health.flaps()).isEqualTo(1);
        assertThat(health.heldOutUntil(back)).isNull();
    }
}
