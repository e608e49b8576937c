package dev.rayfederation.sim;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sim.SidecarConfig.Pool;
import dev.rayfederation.sim.SidecarConfig.VirtualCluster;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

/** Every created pod carries the labels, annotations, env and ray start line of the worker pod contract. */
class WorkerPodContractE2ETest extends SidecarE2E {

    private static final String HEAD = "10.0.0.12:6379";

    @Test
    @DisplayName("a created worker pod carries every label, annotation and env var of the pod contract and a ray start for the head")
    void createdPodFollowsThePodContract() throws Exception {
        start(List.of(MemberSpec.of("m1", "aws", "us-east-1", "us-east-1a").withNodes(2, "n", n -> NodeSpec.of(n, 16, "64Gi"))),
                c -> c.withRayCluster("contract", HEAD)
                        .withVirtualCluster(VirtualCluster.of("vc-a"))
                        .withPool(new Pool("pool-x", "vc-a", "px-type", Map.of("CPU", 4, "memory", "16Gi"),
                                Map.of("pool-x-slot", 1), Map.of("team", "search"), 0, 10, "spread", List.of(),
                                Map.of(), Map.of())));
        Map<String, String> tags = rayTags("px-type");

        SidecarApi.Response r = api().createNodes("px-type", 1, "req-contract-1", tags);
        assertThat(r.status()).as("status of %s", r).isEqualTo(201);
        String id = created(r).get(0);
        awaitUpToDate("pool-x", 1);

        Pod pod = federation.member("m1").workerPods().stream()
                .filter(p -> id.equals(p.getMetadata().getLabels().get(SimulatedFederation.NODE_ID_LABEL)))
                .findFirst().orElseThrow(() -> new AssertionError("no pod labelled with node id " + id + " in m1"));

        assertThat(pod.getMetadata().getNamespace()).isEqualTo("ray-workers");
        assertThat(pod.getMetadata().getLabels()).contains(
                entry("app.kubernetes.io/managed-by", "ray-federation"),
                entry("ray-federation.io/ray-cluster", "contract"),
                entry("ray-federation.io/node-id", id),
                entry("ray-federation.io/pool", "pool-x"),
                entry("ray-federation.io/virtual-cluster", "vc-a"),
                entry("ray-federation.io/node-type", "px-type"))
                .doesNotContainKey("ray.io/group");
        Map<String, String> annotations = pod.getMetadata().getAnnotations();
        assertThat(annotations).containsEntry("ray-federation.io/request-id", "req-contract-1");
        Map<String, Object> storedTags = SidecarApi.JSON.readValue(annotations.get("ray-federation.io/tags"),
                new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() { });
        assertThat(storedTags).as("tags annotation").containsAllEntriesOf(
                Map.of("ray-node-type", "worker", "ray-user-node-type", "px-type", "ray-launch-config", "launch-hash-1"));

        Container worker = workerContainer(pod);
        assertThat(env(worker)).contains(
                entry("RAY_CLOUD_INSTANCE_ID", id),
                entry("RAY_NODE_TYPE_NAME", "px-type"),
                entry("RAY_NODE_REGION", "us-east-1"),
                entry("RAY_NODE_ZONE", "us-east-1a"));
        assertThat(worker.getResources().getRequests()).contains(
                entry("cpu", new Quantity("4")), entry("memory", new Quantity("16Gi")));

        String start = rayStart(worker);
        assertThat(start).as("ray start line").contains("ray start", "--address=" + HEAD, "--block",
                "--num-cpus=4", "--memory=" + (16L << 30));
        assertThat(flagValue(start, "--resources")).as("--resources of %s", start).contains("pool-x-slot");
        Map<String, String> labels = SidecarApi.JSON.readValue(flagValue(start, "--labels"), new TypeReference<Map<String, String>>() { });
        assertThat(labels).as("--labels of %s (a JSON object: the form every supported Ray parses)", start)
                .containsExactly(entry("ray-federation.io/virtual-cluster", "vc-a"), entry("ray-federation.io/member", "m1"),
                        entry("team", "search"));
        assertThat(worker.getReadinessProbe()).as("ready once the raylet is healthy").isNotNull();
        assertThat(worker.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/api/local_raylet_healthz");
        assertThat(worker.getReadinessProbe().getHttpGet().getPort().getIntVal()).isEqualTo(52365);

        JsonNode node = nodesOf("pool-x").get(0);
        assertThat(node.path("id").asText()).isEqualTo(id);
        assertThat(node.path("kind").asText()).isEqualTo("worker");
        assertThat(node.path("nodeType").asText()).isEqualTo("px-type");
        assertThat(node.path("cluster").asText()).isEqualTo("m1");
        assertThat(node.path("virtualCluster").asText()).isEqualTo("vc-a");
        assertThat(node.path("internalIp").asText()).isEqualTo(pod.getStatus().getPodIP());
        assertThat(node.path("tags").path("ray-launch-config").asText()).isEqualTo("launch-hash-1");
    }

    /** The container named ray-worker, else the first. */
    private static Container workerContainer(Pod pod) {
        List<Container> containers = pod.getSpec().getContainers();
        return containers.stream().filter(c -> "ray-worker".equals(c.getName())).findFirst().orElse(containers.get(0));
    }

    private static Map<String, String> env(Container c) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        for (EnvVar e : c.getEnv()) {
            out.put(e.getName(), e.getValue());
        }
        return out;
    }

    /** Command and args joined, plus RAY_FEDERATION_RAY_START_ARGS when the template brings its own command. */
    private static String rayStart(Container c) {
        List<String> parts = new ArrayList<>();
        parts.addAll(c.getCommand());
        parts.addAll(c.getArgs());
        String fromEnv = env(c).get("RAY_FEDERATION_RAY_START_ARGS");
        if (fromEnv != null) {
            parts.add(fromEnv);
        }
        return String.join(" ", parts);
    }

    /** The value of {@code --flag=...} with one level of shell quotes removed. */
    private static String flagValue(String line, String flag) {
        Matcher m = Pattern.compile(Pattern.quote(flag) + "=('([^']*)'|\"((?:[^\"\\\\]|\\\\.)*)\"|(\\S+))").matcher(line);
        assertThat(m.find()).as("%s in %s", flag, line).isTrue();
        return m.group(2) != null ? m.group(2) : m.group(3) != null ? m.group(3) : m.group(4);
    }
}
