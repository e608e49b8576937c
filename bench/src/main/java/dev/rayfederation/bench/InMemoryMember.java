package dev.rayfederation.bench;

import dev.rayfederation.k8s.capacity.CapacityView;
import dev.rayfederation.k8s.capacity.NodeCapacity;
import dev.rayfederation.k8s.capacity.NodeRoom;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.member.MemberClusterSpec;
import dev.rayfederation.k8s.member.MemberState;
import dev.rayfederation.k8s.member.WorkerPod;
import dev.rayfederation.k8s.member.WorkerPodListener;
import dev.rayfederation.k8s.render.WorkerPodRenderer;
import dev.rayfederation.k8s.render.WorkerPodSpec;
import dev.rayfederation.k8s.resources.ResourceVector;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

/**
 * A member cluster held in memory for micro-benchmarks: the real per-node capacity model over identical nodes (some
 * already partly used), and creates that render the real worker pod and answer at once with it Pending. No I/O, so
 * a benchmark measures the sidecar's own work.
 */
final class InMemoryMember implements MemberCluster {

    private final MemberClusterSpec spec;
    private final NodeCapacity capacity;

    /**
     * @param nodes     Kubernetes nodes
     * @param allocatable what each node offers (Ray names, plus {@code pods})
     * @param usedEvery every how many nodes one is already half used (0: none)
     */
    InMemoryMember(String name, String cloud, int nodes, ResourceVector allocatable, int usedEvery) {
        this.spec = new MemberClusterSpec(name, cloud, "region", null, null, null, "ray-workers", false, false,
                ResourceVector.EMPTY);
        List<NodeRoom> rooms = new ArrayList<>(nodes);
        for (int i = 0; i < nodes; i++) {
            ResourceVector used = usedEvery > 0 && i % usedEvery == 0 ? halve(allocatable) : ResourceVector.EMPTY;
            rooms.add(new NodeRoom(name + "-n" + i, Map.of("kubernetes.io/hostname", name + "-n" + i), List.of(), true,
                    false, allocatable, used));
        }
        this.capacity = NodeCapacity.ofRooms(rooms, ResourceVector.EMPTY);
    }

    private static ResourceVector halve(ResourceVector v) {
        Map<String, Long> half = new java.util.TreeMap<>();
        v.milli().forEach((k, x) -> half.put(k, x / 2));
        return new ResourceVector(half);
    }

    @Override
    public MemberClusterSpec spec() {
        return spec;
    }

    @Override
    public CompletionStage<Void> start() {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public MemberState state() {
        return MemberState.HEALTHY;
    }

    @Override
    public String stateReason() {
        return null;
    }

    @Override
    public Instant stateSince() {
        return Instant.EPOCH;
    }

    @Override
    public void onStateChange(Consumer<MemberState> listener) {
    }

    @Override
    public Collection<WorkerPod> workerPods() {
        return List.of();
    }

    @Override
    public void addWorkerPodListener(WorkerPodListener listener) {
    }

    @Override
    public CapacityView capacity() {
        return capacity;
    }

    @Override
    public CompletionStage<WorkerPod> createWorker(WorkerPodSpec s) {
        WorkerPodRenderer.render(s); // what a real member builds before it sends the create
        return CompletableFuture.completedFuture(new WorkerPod(spec.name(), s.podName(), "uid-" + s.podName(), s.nodeId(),
                s.pool(), s.virtualCluster(), s.rayNodeType(), s.tags(), s.requestId(), s.requestHash(), s.requestCount(),
                "Pending", false, null, null, null, null, null, false, Instant.now(), s.resources()));
    }

    @Override
    public CompletionStage<Boolean> deleteWorker(String podName) {
        return CompletableFuture.completedFuture(true);
    }

    @Override
    public void close() {
    }
}
