package dev.rayfederation.sim.bench;

import dev.rayfederation.k8s.render.WorkerPodContract;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Seeds Running, Ready worker pods straight into a member, as if an earlier sidecar had created them and a kubelet
 * had started them: they carry the worker pod contract, so the sidecar adopts each as a node, and also
 * KubeRay's labels ({@code ray.io/cluster}, {@code ray.io/node-type}, {@code ray.io/group}), so Ray's KubeRay node
 * provider reads the very same pods. Pods are bound round-robin to the member's nodes.
 *
 * @param rayCluster     rayCluster.name of the sidecar, and the RayCluster name KubeRay's provider reads
 * @param pool           pool name
 * @param virtualCluster its virtual cluster
 * @param nodeType       its Ray node type (KubeRay's worker group)
 * @param cpu            cores each pod requests
 * @param memory         memory each pod requests (a quantity)
 */
public record WorkerPodSeeder(String rayCluster, String pool, String virtualCluster, String nodeType, int cpu, String memory) {

    /** Creates pods number {@code from} (inclusive) to {@code to} (exclusive) in {@code member}, 4 at a time. */
    public void seed(BenchMember member, int from, int to) {
        KubernetesClient client = member.client();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int i = from; i < to; i++) {
                Pod pod = pod(member, i);
                done.add(pool.submit(() -> client.pods().inNamespace(member.spec().namespace()).resource(pod).create()));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while seeding pods into " + member.name(), e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("seeding pods into " + member.name() + " failed: " + e.getCause(), e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    /** The node id of seeded pod number {@code i}. */
    public static String nodeId(int i) {
        return String.format("rf-seed%08d", i);
    }

    private Pod pod(BenchMember member, int i) {
        String id = nodeId(i);
        String kubeNode = member.name() + "-n" + (i % Math.max(1, member.spec().nodes()));
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(WorkerPodContract.LABEL_MANAGED_BY, WorkerPodContract.MANAGED_BY_VALUE);
        labels.put(WorkerPodContract.LABEL_RAY_CLUSTER, rayCluster);
        labels.put(WorkerPodContract.LABEL_NODE_ID, id);
        labels.put(WorkerPodContract.LABEL_POOL, pool);
        labels.put(WorkerPodContract.LABEL_VIRTUAL_CLUSTER, virtualCluster);
        labels.put(WorkerPodContract.LABEL_NODE_TYPE, nodeType);
        labels.put("ray.io/cluster", rayCluster);
        labels.put("ray.io/node-type", "worker");
        labels.put("ray.io/group", nodeType);
        String tags = "{\"ray-node-type\":\"worker\",\"ray-user-node-type\":\"" + nodeType
                + "\",\"ray-launch-config\":\"bench\",\"ray-node-name\":\"ray-" + rayCluster + "-worker\"}";
        String now = Instant.now().toString();
        String ip = "10." + (100 + i / 65_000) + "." + (i / 250 % 250) + "." + (i % 250 + 1);
        Map<String, Quantity> requests = Map.of("cpu", new Quantity(Integer.toString(cpu)), "memory", new Quantity(memory));
        return new PodBuilder()
                .withNewMetadata()
                .withName(rayCluster + "-" + id)
                .withNamespace(member.spec().namespace())
                .withLabels(labels)
                .withAnnotations(Map.of(WorkerPodContract.ANNOTATION_TAGS, tags, WorkerPodContract.ANNOTATION_REQUEST_ID, "seed-" + (i / 5),
                        WorkerPodContract.ANNOTATION_REQUEST_COUNT, "5"))
                .withCreationTimestamp(now)
                .endMetadata()
                .withNewSpec()
                .withNodeName(kubeNode)
                .withRestartPolicy("Never")
                .withContainers(new ContainerBuilder().withName("ray-worker").withImage("rayproject/ray:2.60.0")
                        .withNewResources().withRequests(requests).withLimits(Map.of("memory", new Quantity(memory)))
                        .endResources().build())
                .endSpec()
                .withNewStatus()
                .withPhase("Running")
                .withPodIP(ip)
                .withHostIP("192.168.0." + (i % 250 + 1))
                .withConditions(new PodConditionBuilder().withType("PodScheduled").withStatus("True").build(),
                        new PodConditionBuilder().withType("Ready").withStatus("True").build())
                .withContainerStatuses(new ContainerStatusBuilder().withName("ray-worker").withReady(true)
                        .withImage("rayproject/ray:2.60.0").withNewState().withNewRunning().withStartedAt(now)
                        .endRunning().endState().build())
                .endStatus()
                .build();
    }
}
