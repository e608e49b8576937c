package dev.rayfederation.sidecar.metrics;

import dev.rayfederation.sidecar.preflight.PreflightResult;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;

import java.util.Map;
import java.util.function.Supplier;

/**
 * Each member's network preflight: {@code ray_federation_member_preflight{member,result}} is 1 for the member's
 * result (ok, failed, pending) and 0 for the others; {@code ray_federation_member_preflight_last_run_timestamp_seconds}
 * is when its last probe ended. Members appear once the preflight has looked at them (none while it is off).
 */
public final class PreflightMetrics {

    private PreflightMetrics() {
    }

    public static void observe(FederationMetrics metrics, Supplier<Map<String, PreflightResult>> results) {
        GaugeWithCallback.builder().name("ray_federation_member_preflight")
                .help("1 for a member's network preflight result (ok, failed, pending), 0 for the other results")
                .labelNames("member", "result")
                .callback(cb -> results.get().forEach((member, r) -> {
                    for (PreflightResult.State s : PreflightResult.State.values()) {
                        cb.call(r.state() == s ? 1 : 0, member, s.wire());
                    }
                })).register(metrics.registry());
        GaugeWithCallback.builder().name("ray_federation_member_preflight_last_run_timestamp_seconds")
                .help("When a member's last network preflight probe ended, whatever it found (Unix time)")
                .labelNames("member")
                .callback(cb -> results.get().forEach((member, r) -> {
                    if (r.lastRunAt() != null) {
                        cb.call(r.lastRunAt().toEpochMilli() / 1000.0, member);
                    }
                })).register(metrics.registry());
    }
}
