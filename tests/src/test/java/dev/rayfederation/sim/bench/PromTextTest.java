package dev.rayfederation.sim.bench;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The Prometheus text reader the real-member benchmark uses on the API servers' /metrics. */
class PromTextTest {

    private static final String TEXT = """
            # HELP apiserver_request_duration_seconds [STABLE] Response latency
            # TYPE apiserver_request_duration_seconds histogram
            apiserver_request_duration_seconds_bucket{component="apiserver",resource="pods",verb="POST",le="+Inf"} 12
            apiserver_request_duration_seconds_sum{component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="POST",version="v1"} 0.25
            apiserver_request_duration_seconds_count{component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="POST",version="v1"} 10
            apiserver_request_duration_seconds_sum{component="apiserver",resource="pods",subresource="binding",verb="POST"} 0.5
            apiserver_request_duration_seconds_count{component="apiserver",resource="pods",subresource="binding",verb="POST"} 5
            apiserver_flowcontrol_rejected_requests_total{flow_schema="service-accounts",priority_level="workload-low",reason="queue-full"} 3
            weird_label{msg="a \\"quoted\\", comma"} 1
            process_cpu_seconds_total 42.5
            """;

    @Test
    void sumsSamplesSelectedByNameAndLabels() {
        PromText p = PromText.parse(TEXT);
        assertThat(p.sum("apiserver_request_duration_seconds_count",
                l -> "POST".equals(l.get("verb")) && "".equals(l.get("subresource")))).isEqualTo(10.0);
        assertThat(p.sum("apiserver_request_duration_seconds_count", PromText.label("subresource", "binding"))).isEqualTo(5.0);
        assertThat(p.sum("apiserver_request_duration_seconds_sum")).isEqualTo(0.75);
        assertThat(p.sum("apiserver_flowcontrol_rejected_requests_total", PromText.label("priority_level", "workload-low")))
                .isEqualTo(3.0);
        assertThat(p.sum("weird_label", PromText.label("msg", "a \"quoted\", comma"))).isEqualTo(1.0);
        assertThat(p.sum("process_cpu_seconds_total")).isEqualTo(42.5);
        assertThat(p.sum("absent")).isZero();
        assertThat(PromText.empty().isEmpty()).isTrue();
    }
}
