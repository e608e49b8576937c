package dev.rayfederation.sidecar.provision;

import dev.rayfederation.k8s.capacity.CapacityView;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.member.MemberClusterSpec;
import dev.rayfederation.k8s.member.MemberState;
import dev.rayfederation.k8s.member.WorkerPod;
import dev.rayfederation.k8s.member.WorkerPodListener;
import dev.rayfederation.k8s.render.WorkerPodSpec;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.resources.WorkerShape;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * An in-memory member for unit tests of the sidecar's logic: identical nodes of one size, pods "run" as
 * soon as they are created. Counts API calls so tests can assert that nothing was created.
 */
public final class FakeMemberCluster implements MemberCluster {

    private final MemberClusterSpec spec;
    private final ResourceVector nodeSize;
    private final int nodes;
    private final Map<String, WorkerPod> pods = new ConcurrentHashMap<>();
    private final List<WorkerPodListener> listeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<MemberState>> stateListeners = new CopyOnWriteArrayList<>();
    private volatile MemberState state = MemberState.SYNCING;
    private volatile boolean failCreates;
    private volatile dev.rayfederation.k8s.member.MemberApiException refusal;
    private volatile boolean stall;
    private volatile boolean unreachable;
    public final AtomicInteger createCalls = new AtomicInteger();
    public final AtomicInteger deleteCalls = new AtomicInteger();

    public FakeMemberCluster(String name, String cloud, int nodes, ResourceVector nodeSize) {
        this.spec = new MemberClusterSpec(name, cloud, null, null, null, null, "ray-workers", false, false, ResourceVector.EMPTY);
        this.nodes = nodes;
        this.nodeSize = nodeSize;
    }

    public void failCreates(boolean fail) {
        this.failCreates = fail;
    }

    /** Every create is refused by the member's API server with this status and message (admission, quota). */
    public void refuseCreates(int status, String serverMessage) {
        this.refusal = status == 0 ? null : new dev.rayfederation.k8s.member.MemberApiException(spec.name(), "create pod",
                status, dev.rayfederation.k8s.member.MemberApiException.Kind.of(status, serverMessage), serverMessage,
                serverMessage, null);
    }

    /** New pods stay Pending and Unschedulable, as on a member that is full for real. */
    public void stall(boolean stall) {
        this.stall = stall;
    }

    /** The member's API cannot be reached: start and every call fail, as during an outage. */
    public void unreachable(boolean down) {
        this.unreachable = down;
        if (down && state != MemberState.SYNCING) {
            setState(MemberState.UNREACHABLE);
        }
    }

    /** The API answers again: relist (like an informer) and become healthy. */
    public void recover() {
        unreachable = false;
        for (WorkerPod p : pods.values()) {
            listeners.forEach(l -> l.onUpsert(p));
        }
        setState(MemberState.HEALTHY);
    }

    public void setState(MemberState s) {
        state = s;
        stateListeners.forEach(l -> l.accept(s));
    }

    /** Pods that exist in this member now. */
    public Collection<WorkerPod> pods() {
        return pods.values();
    }

    /** Seeds a pod as if it had been left by an earlier sidecar. */
    public void seed(WorkerPod pod) {
        pods.put(pod.podName(), pod);
    }

    /** Deletes a pod behind the sidecar's back (eviction, kubectl delete). */
    public void deleteBySomeoneElse(String podName) {
        WorkerPod p = pods.remove(podName);
        if (p != null) {
            listeners.forEach(l -> l.onDelete(p));
        }
    }

    @Override
    public MemberClusterSpec spec() {
        return spec;
    }

    @Override
    public CompletionStage<Void> start() {
        if (unreachable) {
            setState(MemberState.UNREACHABLE);
            return CompletableFuture.failedFuture(new IllegalStateException("connection refused"));
        }
        for (WorkerPod p : pods.values()) {
            listeners.forEach(l -> l.onUpsert(p));
        }
        setState(MemberState.HEALTHY);
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public MemberState state() {
        return state;
    }

    @Override
    public String stateReason() {
        return state == MemberState.UNREACHABLE ? "connection refused" : null;
    }

    @Override
    public Instant stateSince() {
        return Instant.EPOCH;
    }

    @Override
    public void onStateChange(Consumer<MemberState> listener) {
        stateListeners.add(listener);
    }

    @Override
    public Collection<WorkerPod> workerPods() {
        return List.copyOf(pods.values());
    }

    @Override
    public void addWorkerPodListener(WorkerPodListener listener) {
        listeners.add(listener);
    }

    @Override
    public CapacityView capacity() {
        List<ResourceVector> used = new ArrayList<>();
        for (WorkerPod p : pods.values()) {
            used.add(p.requests());
        }
        return new SlotCapacity(used);
    }

    /** Pods pack first-fit onto identical nodes. */
    private final class SlotCapacity implements CapacityView {
        private final ResourceVector[] free;

        SlotCapacity(List<ResourceVector> used) {
            free = new ResourceVector[nodes];
            java.util.Arrays.fill(free, nodeSize);
            for (ResourceVector u : used) {
                place(u, 1);
            }
        }

        private long place(ResourceVector shape, long n) {
            long placed = 0;
            for (int i = 0; i < free.length && placed < n; i++) {
                long k = Math.min(n - placed, free[i].howMany(shape));
                free[i] = free[i].minus(shape.times(k));
                placed += k;
            }
            return placed;
        }

        @Override
        public boolean known() {
            return true;
        }

        @Override
        public long nodeFit(WorkerShape shape, Map<WorkerShape, Integer> reservations, long limit) {
            reservations.forEach((s, k) -> place(s.requests(), k));
            long fit = 0;
            for (ResourceVector f : free) {
                fit += f.howMany(shape.requests());
            }
            return Math.min(fit, limit);
        }

        @Override
        public long capFit(WorkerShape shape, ResourceVector ourUsage) {
            return Long.MAX_VALUE;
        }

        @Override
        public boolean couldEverFit(WorkerShape shape) {
            return nodes > 0 && nodeSize.covers(shape.requests());
        }

        @Override
        public ResourceVector capacity() {
            return nodeSize.times(nodes);
        }

        @Override
        public ResourceVector allocated() {
            ResourceVector sum = ResourceVector.EMPTY;
            for (WorkerPod p : pods.values()) {
                sum = sum.plus(p.requests());
            }
            return sum;
        }

        @Override
        public int nodeCount() {
            return nodes;
        }

        @Override
        public int cordonedNodeCount() {
            return 0;
        }
    }

    @Override
    public CompletionStage<WorkerPod> createWorker(WorkerPodSpec s) {
        createCalls.incrementAndGet();
        if (refusal != null) {
            return CompletableFuture.failedFuture(refusal);
        }
        if (failCreates || unreachable) {
            return CompletableFuture.failedFuture(new IllegalStateException("member " + spec.name() + " refused"));
        }
        WorkerPod pod = new WorkerPod(spec.name(), s.podName(), "uid-" + s.podName(), s.nodeId(), s.pool(),
                s.virtualCluster(), s.rayNodeType(), s.tags(), s.requestId(), s.requestHash(), s.requestCount(),
                stall ? "Pending" : "Running", !stall, stall ? null : "node-1", stall ? null : "10.0.0." + pods.size(),
                stall ? null : "192.168.0.1", stall ? WorkerPod.Condition.UNSCHEDULABLE : null,
                stall ? "0/2 nodes are available: 2 Insufficient cpu" : null, false, Instant.now(), s.resources());
        pods.put(pod.podName(), pod);
        listeners.forEach(l -> l.onUpsert(pod));
        return CompletableFuture.completedFuture(pod);
    }

    @Override
    public CompletionStage<Boolean> deleteWorker(String podName) {
        deleteCalls.incrementAndGet();
        if (unreachable) {
            return CompletableFuture.failedFuture(new IllegalStateException("connection refused"));
        }
        WorkerPod p = pods.remove(podName);
        if (p != null) {
            listeners.forEach(l -> l.onDelete(p));
        }
        return CompletableFuture.completedFuture(p != null);
    }

    @Override
    public CompletionStage<Boolean> updateWorkerTags(String podName, Map<String, String> tags) {
        WorkerPod p = pods.get(podName);
        if (p == null) {
            return CompletableFuture.completedFuture(false);
        }
        WorkerPod q = new WorkerPod(p.member(), p.podName(), p.uid(), p.nodeId(), p.pool(), p.virtualCluster(),
                p.rayNodeType(), tags, p.requestId(), p.requestHash(), p.requestCount(), p.phase(), p.ready(),
                p.kubeNode(), p.podIp(), p.hostIp(), p.condition(), p.message(), p.deleting(), p.created(), p.requests());
        pods.put(podName, q);
        return CompletableFuture.completedFuture(true);
    }

    @Override
    public void close() {
    }
}
