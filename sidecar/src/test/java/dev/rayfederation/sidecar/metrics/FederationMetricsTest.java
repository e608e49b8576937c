package dev.rayfederation.sidecar.metrics;

import dev.rayfederation.k8s.member.InMemoryMemberCluster;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.VirtualCluster;
import dev.rayfederation.sidecar.placement.strategy.Strategies;
import dev.rayfederation.sidecar.provision.TestConfigs;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** What /metrics shows before anything happened: the counters alerts use, at zero; the build and the JVM. */
class FederationMetricsTest {

    @Test
    void countersArePresentAtZeroForEveryLabelSetKnownFromTheConfiguration() {
        FederationConfig config = TestConfigs.config(
                List.of(TestConfigs.cluster("aws-use1", "aws", 10), TestConfigs.cluster("gcp-usc1", "gcp", 5)),
                List.of(new VirtualCluster("vc-gpu", ResourceVector.EMPTY)),
                List.of(TestConfigs.pool("gpu-1", "vc-gpu", Map.of("CPU", "4", "GPU", "1"), 6, Strategies.SPREAD,
                        List.of("gcp-usc1"))));
        Map<String, MemberCluster> members = new LinkedHashMap<>();
        members.put("aws-use1", InMemoryMemberCluster.builder("aws-use1", "aws", 1,
                ResourceVector.ofQuantities(Map.of("CPU", "16", "memory", "64Gi"))).build());
        members.put("gcp-usc1", InMemoryMemberCluster.builder("gcp-usc1", "gcp", 1,
                ResourceVector.ofQuantities(Map.of("CPU", "16", "memory", "64Gi"))).build());

        String text = new FederationMetrics().observe(config, new NodeRegistry(), members).scrape();

        assertThat(text)
                .contains("ray_federation_rejected_workers_total{pool=\"gpu-1\",reason=\"quota\"} 0.0")
                .contains("ray_federation_rejected_workers_total{pool=\"gpu-1\",reason=\"unavailable\"} 0.0")
                .contains("ray_federation_create_requests_total{outcome=\"failed\",pool=\"gpu-1\"} 0.0")
                .contains("ray_federation_placements_total{member=\"gcp-usc1\",pool=\"gpu-1\"} 0.0")
                .contains("ray_federation_replacements_total{member=\"gcp-usc1\",pool=\"gpu-1\"} 0.0")
                .contains("ray_federation_worker_losses_total{member=\"aws-use1\",reason=\"evicted\"} 0.0")
                .contains("ray_federation_member_api_errors_total{kind=\"failure\",member=\"aws-use1\",operation=\"create_pod\"} 0.0")
                .contains("ray_federation_terminations_total{outcome=\"unknown\"} 0.0")
                .contains("ray_federation_build_info{version=\"" + FederationMetrics.version() + "\"} 1")
                .contains("jvm_memory_used_bytes{")
                .contains("process_cpu_seconds_total");
        assertThat(text).as("a pool is placed only on its allowed members")
                .doesNotContain("ray_federation_placements_total{member=\"aws-use1\",pool=\"gpu-1\"}");
    }
}
