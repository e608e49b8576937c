package dev.rayfederation.sim.bench;

import dev.rayfederation.sim.SidecarApi;
import dev.rayfederation.sim.SidecarConfig;

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

    /** Which API server plays each member. */
    enum Server {
        /** fabric8's mock API server in CRUD mode ({@link BenchMember}). */
        MOCK,
        /** The light one made for 100,000 pods ({@link LightMember}). */
        LIGHT;

        static Server parse(String s) {
            return switch (s) {
                case "mock" -> MOCK;
                case "light" -> LIGHT;
                default -> throw new IllegalArgumentException("--member-server: '" + s + "' is neither light nor mock");
            };
        }
    }

    private final List<ApiMember> members = new ArrayList<>();
    private final List<LatencyProxy> proxies = new ArrayList<>();
    private SidecarRun sidecar;
    private SidecarApi api;

    /**
     * @param room       workers each member must be able to take (nodes are added to fit them, plus a margin)
     * @param maxWorkers the pool's maxWorkers
     */
    static ProxiedFederation start(BenchEnv env, String name, int memberCount, int room, Duration latency, int maxWorkers,
                                   Path dir) {
        return start(env, name, Server.MOCK, memberCount, room, latency, maxWorkers, null, dir);
    }

    /** @param rateLimit the sidecar's {@code resilience.rateLimit.requestsPerSecond} per member, or null for its default */
    static ProxiedFederation start(BenchEnv env, String name, Server server, int memberCount, int room, Duration latency,
                                   int maxWorkers, Integer rateLimit, Path dir) {
        ProxiedFederation f = new ProxiedFederation();
        try {
            int perNode = 96; // 96 CPU, 384Gi, 110 pods: 96 workers of 1 CPU / 2Gi
            int nodes = (int) Math.ceil(room * 1.2 / perNode) + 1;
            List<SidecarConfig.Cluster> clusters = new ArrayList<>();
            for (int i = 0; i < memberCount; i++) {
                String cloud = CLOUDS[i % CLOUDS.length];
                String member = cloud + "-m" + i;
                BenchMember.Spec spec = new BenchMember.Spec(member, cloud, NAMESPACE, nodes, perNode, "384Gi", 110);
                ApiMember m = server == Server.LIGHT ? LightMember.start(spec, dir.resolve("certs")) : BenchMember.start(spec);
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
            if (rateLimit != null) {
                config = config.with("resilience", Map.of("rateLimit", Map.of("requestsPerSecond", rateLimit)));
            }
            f.sidecar = env.startSidecar(name, config, dir.resolve("sidecar"));
            f.api = new SidecarApi(f.sidecar.apiUrl(), null);
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
        return f;
    }

    List<ApiMember> members() {
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

    /** Bytes all members have read and written and connections they accepted so far ({@link ApiMember#traffic()}), or null when one does not count. */
    long[] traffic() {
        long[] sum = new long[3];
        for (ApiMember m : members) {
            long[] t = m.traffic();
            if (t == null) {
                return null;
            }
            sum[0] += t[0];
            sum[1] += t[1];
            sum[2] += t[2];
        }
        return sum;
    }

    /** Worker pods (not being deleted) per node id, across all members (a member's name per pod): the truth to check the sidecar against. */
    Map<String, List<String>> podsByNodeId() {
        Map<String, List<String>> out = new HashMap<>();
        for (ApiMember m : members) {
            m.workerPodsByNodeId().forEach((id, n) -> {
                List<String> where = out.computeIfAbsent(id, k -> new ArrayList<>());
                for (int i = 0; i < n; i++) {
                    where.add(m.name());
                }
            });
        }
        return out;
    }

    @Override
    public void close() {
        if (sidecar != null) {
            sidecar.close();
        }
        proxies.forEach(LatencyProxy::close);
        members.forEach(ApiMember::close);
    }
}
