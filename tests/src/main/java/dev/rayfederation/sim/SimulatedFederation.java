package dev.rayfederation.sim;

import dev.rayfederation.k8s.render.WorkerPodContract;
import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Pod;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Simulated members plus the sidecar as a process configured for them: the whole end-to-end rig.
 * {@link #close()} stops the sidecar, then the kubelet and the members.
 */
public final class SimulatedFederation implements AutoCloseable {

    /** Label every worker pod carries with its pool. */
    public static final String POOL_LABEL = WorkerPodContract.LABEL_POOL;
    /** Label every worker pod carries with its node id. */
    public static final String NODE_ID_LABEL = WorkerPodContract.LABEL_NODE_ID;

    private final SimulatedMembers members;
    private final SidecarProcess sidecar;

    private SimulatedFederation(SimulatedMembers members, SidecarProcess sidecar) {
        this.members = members;
        this.sidecar = sidecar;
    }

    /**
     * Starts the members (files under {@code dir/members}), then the sidecar (files under {@code dir/sidecar}) with
     * {@code configure} applied to {@link SidecarConfig#forMembers}.
     */
    public static SimulatedFederation start(List<MemberSpec> specs, Path dir, UnaryOperator<SidecarConfig> configure) {
        return start(specs, dir, configure, SimulatedKubelet.Options.defaults(), SidecarProcess.Options.defaults());
    }

    public static SimulatedFederation start(List<MemberSpec> specs, Path dir, UnaryOperator<SidecarConfig> configure,
                                            SimulatedKubelet.Options kubelet, SidecarProcess.Options sidecar) {
        SidecarProcess.requireRunnableJar(sidecar.jar());
        SimulatedMembers members = SimulatedMembers.start(specs, dir.resolve("members"), kubelet);
        try {
            return start(members, configure.apply(SidecarConfig.forMembers(members)), dir, sidecar);
        } catch (RuntimeException e) {
            members.close();
            throw e;
        }
    }

    /**
     * Starts the sidecar (files under {@code dir/sidecar}) with {@code config} for members started already, for a
     * test that puts something between them (a proxy); the federation closes them with the sidecar. On failure
     * the caller still owns the members.
     */
    public static SimulatedFederation start(SimulatedMembers members, SidecarConfig config, Path dir) {
        return start(members, config, dir, SidecarProcess.Options.defaults());
    }

    private static SimulatedFederation start(SimulatedMembers members, SidecarConfig config, Path dir,
                                             SidecarProcess.Options sidecar) {
        SidecarProcess.requireRunnableJar(sidecar.jar());
        SimulatedFederation federation = new SimulatedFederation(members, SidecarProcess.start(config, dir.resolve("sidecar"), sidecar));
        try {
            federation.awaitMembersConnected(java.time.Duration.ofSeconds(90));
        } catch (RuntimeException e) {
            federation.sidecar.close();
            throw e;
        }
        return federation;
    }

    /**
     * Waits (up to {@code deadline}) until the sidecar has connected to every member. The sidecar is ready once each
     * member has synced OR been marked unreachable; on a loaded machine a simulated member can miss the first sync
     * window and is connected a few seconds later. Scenarios start from connected members.
     */
    private void awaitMembersConnected(java.time.Duration deadline) {
        long until = System.nanoTime() + deadline.toNanos();
        while (System.nanoTime() < until) {
            SidecarApi.Response r = api().clusters();
            if (r.status() == 200) {
                boolean all = true;
                for (JsonNode c : r.body().path("clusters")) {
                    String state = c.path("state").asText();
                    all &= !state.equals("unreachable") && !state.equals("syncing");
                }
                if (all) {
                    return;
                }
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        throw new IllegalStateException("the sidecar did not connect to every member within " + deadline.toSeconds()
                + " s: " + api().clusters());
    }

    public SimulatedMembers members() {
        return members;
    }

    public SimulatedMember member(String name) {
        return members.member(name);
    }

    public SidecarProcess sidecar() {
        return sidecar;
    }

    public SidecarApi api() {
        return sidecar.api();
    }

    /** The {@code nodes} of GET /v1/nodes; fails unless the answer is 200. */
    public List<JsonNode> nodes() {
        SidecarApi.Response r = api().getNodes();
        if (r.status() != 200) {
            throw new IllegalStateException("expected 200 from " + r);
        }
        List<JsonNode> out = new ArrayList<>();
        r.body().path("nodes").forEach(out::add);
        return out;
    }

    /** Worker pods of one pool (all pools when null), by member name (members without any included, as 0). */
    public Map<String, List<Pod>> workerPods(String pool) {
        Map<String, List<Pod>> out = new LinkedHashMap<>();
        for (SimulatedMember m : members.members()) {
            out.put(m.name(), m.workerPods().stream()
                    .filter(p -> pool == null || pool.equals(p.getMetadata().getLabels().get(POOL_LABEL)))
                    .toList());
        }
        return out;
    }

    /** How many worker pods of one pool (all when null) each member holds. */
    public Map<String, Integer> workerPodCounts(String pool) {
        Map<String, Integer> out = new LinkedHashMap<>();
        workerPods(pool).forEach((m, pods) -> out.put(m, pods.size()));
        return out;
    }

    @Override
    public void close() {
        try {
            sidecar.close();
        } finally {
            members.close();
        }
    }
}
