package dev.rayfederation.real;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sim.SidecarApi;
import dev.rayfederation.sim.SidecarConfig;
import dev.rayfederation.sim.SidecarConfig.Pool;
import dev.rayfederation.sim.SidecarConfig.VirtualCluster;
import dev.rayfederation.sim.SidecarProcess;
import io.fabric8.kubernetes.api.model.Pod;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The config file of a running sidecar is edited (renamed over, as Kubernetes swaps a mounted ConfigMap) while it
 * federates real members: a member added is connected to its real API server, synced and placed on; a quota lowered
 * refuses new workers at once and keeps running ones; a member removed is cordoned and forgotten once Ray has
 * terminated its workers; an invalid edit is refused and changes nothing. The sidecar process is never restarted.
 */
class LiveReconfigurationRealTest extends RealFederationTest {

    /** The file is polled every second; generous for a loaded machine, and still far from a restart. */
    private static final Duration RELOAD = Duration.ofSeconds(60);

    private SidecarConfig config;

    /** Only aws-use1 configured (the other members run, but are not members yet); pool cpu (2 CPU), quota 100 CPU. */
    private void startWithAwsOnly() {
        config = baseConfig().withoutCluster(GCP).withoutCluster(AZURE)
                .withVirtualCluster(VirtualCluster.of("vc").withQuota("CPU", 100))
                .withPool(Pool.of("cpu", "vc", Map.of("CPU", 2, "memory", "4Gi")).withStrategy("priority"));
        sidecar = SidecarProcess.start(config, testDir.resolve("sidecar"));
        await("aws-use1 healthy, the only member").atMost(DEADLINE).untilAsserted(() ->
                assertThat(memberStates()).isEqualTo(Map.of(AWS, "healthy")));
    }

    private void edit(SidecarConfig next) {
        config = next;
        sidecar.rewriteConfig(next);
    }

    /** The {@code clusters[]} entry of a real member, as {@link RealMembers#sidecarConfig} writes it. */
    private static SidecarConfig.Cluster clusterOf(String member) {
        return members().sidecarConfig("unused").clusters().stream().filter(c -> c.name().equals(member))
                .findFirst().orElseThrow();
    }

    private Map<String, String> memberStates() {
        return clusterEntries().stream().collect(Collectors.toMap(c -> c.path("name").asText(), c -> c.path("state").asText()));
    }

    private List<JsonNode> clusterEntries() {
        List<JsonNode> out = new ArrayList<>();
        api().clusters().body().path("clusters").forEach(out::add);
        return out;
    }

    private Optional<JsonNode> entry(String member) {
        return clusterEntries().stream().filter(c -> c.path("name").asText().equals(member)).findFirst();
    }

    private JsonNode configStatus() {
        return api().clusters().body().path("config");
    }

    private void awaitGeneration(int generation) {
        await("configuration generation " + generation + " in force").atMost(RELOAD)
                .untilAsserted(() -> assertThat(configStatus().path("generation").asInt()).as("%s", configStatus())
                        .isEqualTo(generation));
    }

    private Set<String> idsOn(String member) {
        return nodesOf("cpu").stream().filter(n -> n.path("cluster").asText().equals(member))
                .map(n -> n.path("id").asText()).collect(Collectors.toCollection(TreeSet::new));
    }

    /** The node ids of the member's worker pods (its real API server's answer), each Running on one of its nodes. */
    private static Set<String> runningPodIds(RealMember m) {
        Set<String> nodes = m.admin().nodes().list().getItems().stream().map(n -> n.getMetadata().getName())
                .collect(Collectors.toSet());
        Set<String> out = new TreeSet<>();
        for (Pod p : podsOf(m, "cpu")) {
            assertThat(p.getStatus().getPhase()).as("phase of %s on %s", p.getMetadata().getName(), m.name()).isEqualTo("Running");
            assertThat(p.getSpec().getNodeName()).as("node of %s on %s", p.getMetadata().getName(), m.name()).isIn(nodes);
            out.add(p.getMetadata().getLabels().get(NODE_ID_LABEL));
        }
        return out;
    }

    @Test
    @DisplayName("a member added, a quota lowered and a member removed by editing the file: followed live on real members, nothing running lost")
    void followsEdits() {
        startWithAwsOnly();
        long pid = sidecar.pid();
        Set<String> onAws = new TreeSet<>(created(create("cpu", 2, "first")));
        awaitUpToDate("cpu", 2);
        assertThat(runningPodIds(member(AWS))).isEqualTo(onAws);

        // gcp-usc1 joins with the highest priority: connected to its API server, synced, then placed on
        edit(config.withCluster(clusterOf(GCP).withPriority(10)));
        awaitGeneration(2);
        await("gcp-usc1 added live and synced").atMost(RELOAD).untilAsserted(() ->
                assertThat(memberStates()).isEqualTo(Map.of(AWS, "healthy", GCP, "healthy")));
        Set<String> onGcp = new TreeSet<>(created(create("cpu", 2, "after-add")));
        awaitUpToDate("cpu", 4);
        assertThat(idsOn(GCP)).as("workers placed on the member added live").isEqualTo(onGcp);
        assertThat(runningPodIds(member(GCP))).as("worker pods Running on gcp-usc1's nodes").isEqualTo(onGcp);

        // the quota drops to what is in use (4 x 2 CPU): a new worker is refused at once, none is terminated.
        // aws-use1 becomes the first choice again, so only its removal below keeps new workers off it.
        edit(config.withVirtualCluster("vc", v -> v.withQuota("CPU", 8)).withCluster(AWS, c -> c.withPriority(100)));
        awaitGeneration(3);
        SidecarApi.Response refused = create("cpu", 1, "over-quota");
        assertThat(created(refused)).as("created by %s", refused).isEmpty();
        assertThat(refused.body().path("rejected").path("reason").asText()).as("%s", refused).isEqualTo("quota");
        assertThat(refused.body().path("rejected").path("message").asText()).as("%s", refused)
                .contains("virtual cluster vc quota CPU=8");
        awaitUpToDate("cpu", 4);
        assertThat(podCounts("cpu")).isEqualTo(Map.of(AWS, 2, GCP, 2, AZURE, 0));

        // aws-use1 leaves (the quota grows again): cordoned, its workers stay listed, nothing new lands there
        edit(config.withoutCluster(AWS).withVirtualCluster("vc", v -> v.withQuota("CPU", 100)));
        awaitGeneration(4);
        JsonNode removed = entry(AWS).orElseThrow();
        assertThat(removed.path("removed").asBoolean()).as("%s", removed).isTrue();
        assertThat(removed.path("cordoned").asBoolean()).as("%s", removed).isTrue();
        assertThat(removed.path("cordonedBy").asText()).isEqualTo("configuration");
        Set<String> afterRemove = new TreeSet<>(created(create("cpu", 2, "after-remove")));
        awaitUpToDate("cpu", 6);
        assertThat(idsOn(GCP)).as("new workers on gcp-usc1 only").containsAll(afterRemove).containsAll(onGcp);
        assertThat(idsOn(AWS)).as("aws-use1's workers, still listed").isEqualTo(onAws);
        assertThat(runningPodIds(member(AWS))).as("aws-use1's worker pods, still running").isEqualTo(onAws);

        // Ray terminates aws-use1's workers: their pods are deleted on its API server, and the member is forgotten
        assertThat(api().terminate(onAws).status()).isEqualTo(200);
        await("aws-use1's pods deleted and aws-use1 forgotten").atMost(DEADLINE).untilAsserted(() -> {
            assertThat(podsOf(member(AWS), "cpu")).isEmpty();
            assertThat(entry(AWS)).isEmpty();
        });
        assertThat(apiNodesByMember("cpu")).isEqualTo(Map.of(GCP, 4));
        assertThat(sidecar.pid()).as("the sidecar process, never restarted").isEqualTo(pid);
        assertThat(sidecar.logTail(400)).contains("member gcp-usc1 added live has synced",
                "member aws-use1 removed: it takes no new workers",
                "member aws-use1 removed from the configuration has no workers left; forgotten");
    }

    @Test
    @DisplayName("an invalid edit is refused naming each field, and the configuration in force keeps placing on real members")
    void refusesAnInvalidEdit() throws Exception {
        startWithAwsOnly();
        create("cpu", 1, "before");
        awaitUpToDate("cpu", 1);

        // an invalid pool, in the same edit as a member added: the whole edit is refused
        sidecar.rewriteConfig(config.withCluster(clusterOf(GCP))
                .withPool(Pool.of("bad", "no-such-vc", Map.of("CPU", -1))));
        await("the invalid edit refused").atMost(RELOAD)
                .until(() -> configStatus().path("lastReload").asText(), "refused"::equals);
        List<String> problems = new ArrayList<>();
        configStatus().path("problems").forEach(p -> problems.add(p.asText()));
        assertThat(problems).as("problems listed in GET /v1/clusters")
                .anySatisfy(p -> assertThat(p).startsWith("pools[1].virtualCluster"))
                .anySatisfy(p -> assertThat(p).startsWith("pools[1].resources.CPU"));
        assertThat(configStatus().path("generation").asInt()).as("the configuration in force").isEqualTo(1);
        assertThat(metric("ray_federation_config_reloads_total", Map.of("outcome", "refused"))).isEqualTo(1.0);
        assertThat(sidecar.logTail(200)).contains("generation 1 stays in force");

        // nothing changed: gcp-usc1 was not connected, the pool set is the same, aws-use1 still takes workers
        assertThat(memberStates()).isEqualTo(Map.of(AWS, "healthy"));
        assertThat(api().pools().body().path("pools")).extracting(p -> p.path("name").asText()).containsExactly("cpu");
        create("cpu", 1, "after");
        awaitUpToDate("cpu", 2);
        assertThat(podCounts("cpu")).isEqualTo(Map.of(AWS, 2, GCP, 0, AZURE, 0));
    }
}
