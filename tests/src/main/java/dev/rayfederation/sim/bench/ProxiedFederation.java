package dev.rayfederation.sim.bench;

import dev.rayfederation.k8s.render.WorkerPodContract;
import dev.rayfederation.sim.SidecarApi;
import dev.rayfederation.sim.SidecarConfig;
import io.fabric8.kubernetes.api.model.Pod;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * N member API servers on N clouds, each behind a {@link LatencyProxy}, and the sidecar configured to reach them
 * through the proxies: one pool {@code cpu} (1 CPU, 2Gi per worker, strategy spread, over every member).
 */
final class ProxiedFederation implements AutoCloseable {

    static final String RAY_CLUSTER = "bench";
    static final String NAMESPACE = "ray-workers";
    private static final String[] CLOUDS = {"aws", "gcp", "azure", "oci", "ibm", "alibaba"};

    private final List<BenchMember> members = new ArrayList<>();
    private final List<LatencyProxy> proxies = new ArrayList<>();
    private SidecarRun sidecar;
    private SidecarApi api;

    /**
     * @param room       workers each member must be able to take (nodes are added to fit them, plus a margin)
     * @param maxWorkers the pool's maxWorkers
     */
    static ProxiedFederation start(BenchEnv env, String name, int memberCount, int room, Duration latency, int maxWorkers,
                                   Path dir) {
        ProxiedFederation f = new ProxiedFederation();
        try {
            int perNode = 96; // 96 CPU, 384Gi, 110 pods: 96 workers of 1 CPU / 2Gi
            int nodes = (int) Math.ceil(room * 1.2 / perNode) + 1;
            List<SidecarConfig.Cluster> clusters = new ArrayList<>();
            for (int i = 0; i < memberCount; i++) {
                String cloud = CLOUDS[i % CLOUDS.length];
                String member = cloud + "-m" + i;
                BenchMember m = BenchMember.start(new BenchMember.Spec(member, cloud, NAMESPACE, nodes, perNode, "384Gi", 110));
                f.members.add(m);
                LatencyProxy proxy = LatencyProxy.start(m.port(), latency);
                f.proxies.add(proxy);
                Path kubeconfig = m.writeKubeconfig(dir, "https://127.0.0.1:" + proxy.port());
                clusters.add(new SidecarConfig.Cluster(member, cloud, "region-" + i, null, kubeconfig.toString(), member,
                        NAMESPACE, null, Map.of()));
            }
            SidecarConfig config = new SidecarConfig(RAY_CLUSTER, SidecarConfig.DEFAULT_HEAD_ADDRESS, clusters,
                    List.of(SidecarConfig.VirtualCluster.of("vc")),
                    List.of(SidecarConfig.Pool.of("cpu", "vc", Map.of("CPU", 1, "memory", "2Gi")).withMaxWorkers(maxWorkers)),
                    Map.of())
                    // no kubelet runs the mocks' pods: a run longer than the start timeout (a large scale-up) must not
                    // have the sidecar move its pending workers and back the members off
                    .with("replacement", Map.of("startTimeout", "2h", "elasticStartTimeout", "2h"));
            f.sidecar = env.startSidecar(name, config, dir.resolve("sidecar"));
            f.api = new SidecarApi(f.sidecar.apiUrl(), null);
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
        return f;
    }

    List<BenchMember> members() {
        return members;
    }

    LatencyProxy proxy(int i) {
        return proxies.get(i);
    }

    SidecarRun sidecar() {
        return sidecar;
    }

    SidecarApi api() {
        return api;
    }

    /** Worker pods (not being deleted) per node id, across all members: the truth to check the sidecar against. */
    Map<String, List<String>> podsByNodeId() {
        Map<String, List<String>> out = new HashMap<>();
        for (BenchMember m : members) {
            for (Pod p : m.pods()) {
                Map<String, String> labels = p.getMetadata().getLabels();
                String id = labels == null ? null : labels.get(WorkerPodContract.LABEL_NODE_ID);
                if (id != null && p.getMetadata().getDeletionTimestamp() == null) {
                    out.computeIfAbsent(id, k -> new ArrayList<>()).add(m.name());
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        if (sidecar != null) {
            sidecar.close();
        }
        proxies.forEach(LatencyProxy::close);
        members.forEach(BenchMember::close);
    }
}
