package dev.rayfederation.sidecar.config;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Which changes of the file a running sidecar may apply, and how a change is summed up for the log. */
class LiveChangesTest {

    private static final String BASE = """
            rayCluster: {name: demo, headAddress: "10.0.0.12:6379"}
            clusters:
              - {name: a, cloud: x, priority: 1}
              - {name: b, cloud: y}
            virtualClusters:
              - {name: vc, quota: {CPU: 64}}
            pools:
              - {name: cpu, virtualCluster: vc, rayNodeType: cpu, resources: {CPU: 4}}
            """;

    private static FederationConfig parse(String yaml) throws ConfigException {
        return ConfigLoader.parse(yaml, Path.of("."), FileChecks.SKIP);
    }

    @Test
    @DisplayName("Members added and removed, priorities, quotas, pools and templates may change live")
    void liveChangesAreAllowed() throws Exception {
        FederationConfig next = parse("""
                rayCluster: {name: demo, headAddress: "10.0.0.12:6379"}
                clusters:
                  - {name: a, cloud: x, priority: 7, price: {CPU: 0.1}}
                  - {name: c, cloud: z}
                virtualClusters:
                  - {name: vc, quota: {CPU: 8}}
                  - {name: vc2}
                pools:
                  - {name: cpu, virtualCluster: vc, rayNodeType: cpu, resources: {CPU: 2}, maxWorkers: 3, strategy: pack,
                     template: {spec: {containers: [{name: ray-worker, image: "ray:2"}]}}}
                  - {name: gpu, virtualCluster: vc2, rayNodeType: gpu, resources: {GPU: 1}}
                """);

        FederationConfig old = parse(BASE);
        assertThat(LiveChanges.refusals(old, next)).isEmpty();
        LiveChanges.Summary summary = LiveChanges.summary(old, next);
        assertThat(summary.addedMembers()).containsExactly("c");
        assertThat(summary.removedMembers()).containsExactly("b");
        assertThat(summary.changes()).containsExactly("member a changed", "virtual cluster vc changed",
                "virtual cluster vc2 added", "pool cpu changed", "pool gpu added");
        assertThat(LiveChanges.summary(old, parse(BASE)).isEmpty()).isTrue();
    }

    @Test
    @DisplayName("What was built at start-up is refused, each change with its field path and both values")
    void fixedFieldsAreRefused() throws Exception {
        FederationConfig next = parse("""
                rayCluster: {name: other, headAddress: "10.0.0.12:6379"}
                api: {listen: "127.0.0.1:9999"}
                management: {listen: "0.0.0.0:9191"}
                timing: {memberRetryInterval: 5s}
                resilience: {breaker: {waitInOpenState: 60s}}
                replacement: {backoffMax: 1m, startTimeout: 1m}
                clusters:
                  - {name: b, cloud: y, elastic: true, namespace: other}
                  - {name: a, cloud: x, priority: 1, context: elsewhere}
                virtualClusters:
                  - {name: vc, quota: {CPU: 64}}
                pools:
                  - {name: cpu, virtualCluster: vc, rayNodeType: cpu, resources: {CPU: 4}}
                """);

        assertThat(LiveChanges.refusals(parse(BASE), next)).extracting(p -> p.substring(0, p.indexOf(':')))
                .containsExactly("rayCluster.name", "api.listen", "management.listen", "timing.memberRetryInterval",
                        "resilience", "replacement.backoffMax", "clusters[0].namespace", "clusters[0].elastic",
                        "clusters[1].context");
        assertThat(LiveChanges.refusals(parse(BASE), next).get(0))
                .isEqualTo("rayCluster.name: cannot change live: running workers carry the old one (restart the sidecar "
                        + "to apply it); in force: demo, in the file: other");
    }

    @Test
    @DisplayName("With ant-ray on, virtual clusters and pools may not come or go, but quotas may change")
    void antRayKeepsItsVirtualClusters() throws Exception {
        String antRay = "antRay: {enabled: true, dashboardUrl: \"http://127.0.0.1:8265\"}\n";
        FederationConfig old = parse(BASE + antRay);
        FederationConfig quota = parse(BASE.replace("CPU: 64", "CPU: 8") + antRay);
        FederationConfig newPool = parse(BASE + "  - {name: more, virtualCluster: vc, rayNodeType: more, resources: {CPU: 1}}\n"
                + antRay);

        assertThat(LiveChanges.refusals(old, quota)).isEmpty();
        assertThat(LiveChanges.refusals(old, newPool)).singleElement().asString()
                .startsWith("pools: the set of pools, their virtual clusters or node types cannot change live while antRay is enabled");
    }
}
