package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sim.SidecarConfig.Pool;
import dev.rayfederation.sim.SidecarConfig.VirtualCluster;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The config file of a running sidecar is edited, as Kubernetes updates a mounted ConfigMap: members come and go,
 * quotas and strategies change, and the sidecar follows within seconds without a restart; an edit it cannot apply
 * is refused whole and changes nothing.
 */
class LiveReconfigurationE2ETest extends SidecarE2E {

    /** The file is polled every second; generous for a loaded machine, and still far from a restart. */
    private static final Duration RELOAD = Duration.ofSeconds(30);

    private SidecarConfig config;

    /** m1 and m2 configured (m3 runs but is not a member yet); pool cpu (4 CPU) spread; quota 100 CPU. */
    private void startTwoOfThree() {
        start(members(3, 2, 16), c -> {
            config = c.withoutCluster("m3")
                    .withVirtualCluster(VirtualCluster.of("vc").withQuota("CPU", 100))
                    .withPool(Pool.of("cpu", "vc", Map.of("CPU", 4, "memory", "8Gi")));
            return config;
        });
    }

    private void edit(SidecarConfig next) {
        config = next;
        federation.sidecar().rewriteConfig(next);
    }

    private JsonNode configStatus() {
        return api().clusters().body().path("config");
    }

    private void awaitGeneration(int generation) {
        await("configuration generation " + generation + " in force").atMost(RELOAD)
                .untilAsserted(() -> assertThat(configStatus().path("generation").asInt()).as("%s", configStatus())
                        .isEqualTo(generation));
    }

    private Optional<JsonNode> member(String name) {
        for (JsonNode c : api().clusters().body().path("clusters")) {
            if (c.path("name").asText().equals(name)) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }

    private Set<String> idsOn(String member) {
        Set<String> out = new TreeSet<>();
        nodesOf("cpu").stream().filter(n -> n.path("cluster").asText().equals(member)).forEach(n -> out.add(n.path("id").asText()));
        return out;
    }

    @Test
    @DisplayName("A member added, a quota lowered and a member removed by editing the file: followed live, nothing running lost")
    void followsEdits() {
        startTwoOfThree();
        create("cpu", 4, "first");
        awaitUpToDate("cpu", 4);
        assertThat(apiNodesByMember("cpu")).containsOnlyKeys("m1", "m2");
        Set<String> firstIds = new TreeSet<>(nodesOf("cpu").stream().map(n -> n.path("id").asText()).toList());

        // m3 joins with the highest priority, and the pool now fills by priority
        SidecarConfig.Cluster m3 = SidecarConfig.Cluster.of(federation.member("m3")).withPriority(10);
        edit(config.withCluster(m3).withPool("cpu", p -> p.withStrategy("priority")));
        awaitGeneration(2);
        await("m3 synced").atMost(RELOAD).until(() -> member("m3").map(c -> c.path("state").asText()).orElse(""),
                s -> s.equals("healthy"));
        List<String> onM3 = created(create("cpu", 2, "after-add"));
        awaitUpToDate("cpu", 6);
        assertThat(idsOn("m3")).as("workers placed on the member added live").containsExactlyInAnyOrderElementsOf(onM3);

        // the quota drops to what is in use: new workers are refused at once, none is terminated
        edit(config.withVirtualCluster("vc", v -> v.withQuota("CPU", 24)));
        awaitGeneration(3);
        SidecarApi.Response refused = create("cpu", 1, "over-quota");
        assertThat(created(refused)).as("created by %s", refused).isEmpty();
        assertThat(refused.body().path("rejected").path("reason").asText()).isEqualTo("quota");
        assertThat(federation.workerPodCounts("cpu").values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(6);
        awaitUpToDate("cpu", 6);

        // m1 leaves (and the quota grows again): its workers stay until Ray terminates them, none is placed there
        Set<String> onM1 = idsOn("m1");
        assertThat(onM1).hasSize(2);
        edit(config.withoutCluster("m1").withVirtualCluster("vc", v -> v.withQuota("CPU", 100)));
        awaitGeneration(4);
        JsonNode removed = member("m1").orElseThrow();
        assertThat(removed.path("removed").asBoolean()).as("%s", removed).isTrue();
        assertThat(removed.path("cordoned").asBoolean()).isTrue();
        assertThat(removed.path("cordonedBy").asText()).isEqualTo("configuration");
        create("cpu", 2, "after-remove");
        awaitUpToDate("cpu", 8);
        assertThat(idsOn("m1")).as("m1's workers, still there").isEqualTo(onM1);
        assertThat(nodesOf("cpu").stream().map(n -> n.path("id").asText()).toList())
                .as("nothing running was lost").containsAll(firstIds).containsAll(onM3);

        // Ray terminates m1's workers: m1 is then forgotten
        assertThat(api().terminate(onM1).status()).isEqualTo(200);
        await("m1 forgotten once its workers are gone").atMost(DEADLINE).until(() -> member("m1").isEmpty());
        assertThat(federation.workerPodCounts("cpu")).containsEntry("m1", 0);
        assertThat(apiNodesByMember("cpu")).doesNotContainKey("m1");
        assertThat(federation.sidecar().logTail(400)).contains("member m3 added live has synced",
                "member m1 removed: it takes no new workers", "member m1 removed from the configuration has no workers left; forgotten");
    }

    @Test
    @DisplayName("An invalid edit, or one that cannot apply live, is refused with every problem listed and changes nothing")
    void refusesEdits() throws Exception {
        startTwoOfThree();
        create("cpu", 2, "before");
        awaitUpToDate("cpu", 2);
        SidecarConfig before = config;

        federation.sidecar().rewriteConfig(before.withPool(Pool.of("bad", "no-such-vc", Map.of("CPU", -1))));
        await("the invalid edit refused").atMost(RELOAD).until(() -> configStatus().path("lastReload").asText(), "refused"::equals);
        List<String> problems = problems();
        assertThat(problems).anySatisfy(p -> assertThat(p).startsWith("pools[1].virtualCluster"))
                .anySatisfy(p -> assertThat(p).startsWith("pools[1].resources.CPU"));

        String firstAt = configStatus().path("lastReloadAt").asText();
        federation.sidecar().rewriteConfig(before.withRayCluster("other", "10.9.9.9:6379")
                .withCluster("m1", c -> new SidecarConfig.Cluster(c.name(), c.cloud(), c.region(), c.zone(), c.kubeconfig(),
                        c.context(), "elsewhere", c.priority(), c.extra())));
        await("the second edit refused").atMost(RELOAD).until(() -> configStatus().path("lastReloadAt").asText(),
                at -> !at.equals(firstAt));
        assertThat(configStatus().path("lastReload").asText()).isEqualTo("refused");
        assertThat(problems()).hasSize(3)
                .anySatisfy(p -> assertThat(p).startsWith("rayCluster.name: cannot change live"))
                .anySatisfy(p -> assertThat(p).startsWith("rayCluster.headAddress: cannot change live"))
                .anySatisfy(p -> assertThat(p).startsWith("clusters[0].namespace: cannot change live for member m1"));

        assertThat(configStatus().path("generation").asInt()).as("the configuration in force").isEqualTo(1);
        assertThat(api().pools().body().path("pools")).extracting(p -> p.path("name").asText()).containsExactly("cpu");
        assertThat(federation.sidecar().metric("ray_federation_config_reloads_total", Map.of("outcome", "refused")))
                .isEqualTo(2.0);
        assertThat(federation.sidecar().logTail(200)).contains("configuration refused (3 problems); generation 1 stays in force");
        create("cpu", 1, "after");
        awaitUpToDate("cpu", 3);
        assertThat(apiNodesByMember("cpu")).containsOnlyKeys("m1", "m2");
    }

    private List<String> problems() {
        List<String> out = new ArrayList<>();
        configStatus().path("problems").forEach(p -> out.add(p.asText()));
        return out;
    }
}
