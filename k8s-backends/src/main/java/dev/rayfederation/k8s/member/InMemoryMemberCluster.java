package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.capacity.CapacityView;
import dev.rayfederation.k8s.capacity.NodeCapacity;
import dev.rayfederation.k8s.capacity.NodeRoom;
import dev.rayfederation.k8s.render.WorkerPodRenderer;
import dev.rayfederation.k8s.render.WorkerPodSpec;
import dev.rayfederation.k8s.resources.ResourceNames;
import dev.rayfederation.k8s.resources.ResourceVector;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A member cluster held in memory, for tests and benchmarks of the sidecar's own logic: identical Kubernetes nodes
 * under the real per-node capacity model, creates that render the real worker pod and answer at once, and switches
 * for the faults a test needs (a member that refuses, stalls, or cannot be reached). No I/O.
 *
 * <p>By default a created pod runs at once on the first node with room (so capacity counts it, as a bound pod);
 * with {@link Builder#podsStayPending()} pods stay Pending and unbound (the sidecar's own reservations then hold
 * their room), which is what the micro-benchmarks use to measure the sidecar alone. Thread-safe.
 */
public final class InMemoryMemberCluster implements MemberCluster {

    private final MemberClusterSpec spec;
    private final List<NodeRoom> baseRooms;
    private final boolean podsRun;
    private final boolean render;
    private final boolean keepPods;
    private final Map<String, WorkerPod> pods = new ConcurrentHashMap<>();
    private final List<WorkerPodListener> listeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<MemberState>> stateListeners = new CopyOnWriteArrayList<>();
    private volatile MemberState state = MemberState.SYNCING;
    private volatile Instant stateSince = Instant.now();
    private volatile boolean failCreates;
    private volatile Boolean silentCreates;
    private volatile Duration silentFor;
    /** Pods made during a silence: they exist, but the informer has not heard of them yet. */
    private final Set<String> unheard = ConcurrentHashMap.newKeySet();
    private final List<PostedEvent> events = new CopyOnWriteArrayList<>();
    private volatile boolean stall;
    private volatile boolean unreachable;
    private volatile MemberApiException refusal;
    private volatile NodeCapacity capacity;
    /** Create calls received, refused ones included. */
    public final AtomicInteger createCalls = new AtomicInteger();
    /** Delete calls received. */
    public final AtomicInteger deleteCalls = new AtomicInteger();

    private InMemoryMemberCluster(Builder b) {
        this.spec = new MemberClusterSpec(b.name, b.cloud, b.region, null, null, null, "ray-workers", false, false,
                ResourceVector.EMPTY);
        this.podsRun = b.podsRun;
        this.render = b.render;
        this.keepPods = b.keepPods;
        List<NodeRoom> rooms = new ArrayList<>(b.nodes);
        for (int i = 0; i < b.nodes; i++) {
            ResourceVector used = b.halfUsedEvery > 0 && i % b.halfUsedEvery == 0 ? halve(b.allocatable) : ResourceVector.EMPTY;
            String node = b.name + "-n" + i;
            rooms.add(new NodeRoom(node, Map.of("kubernetes.io/hostname", node), List.of(), true, false, b.allocatable,
                    used));
        }
        this.baseRooms = List.copyOf(rooms);
        this.capacity = NodeCapacity.ofRooms(baseRooms, ResourceVector.EMPTY);
    }

    /** {@code nodes} identical nodes offering {@code allocatable} (Ray names; {@code pods} optional). */
    public static Builder builder(String name, String cloud, int nodes, ResourceVector allocatable) {
        return new Builder(name, cloud, nodes, allocatable);
    }

    public static final class Builder {
        private final String name;
        private final String cloud;
        private final int nodes;
        private final ResourceVector allocatable;
        private String region;
        private int halfUsedEvery;
        private boolean podsRun = true;
        private boolean render;
        private boolean keepPods = true;

        private Builder(String name, String cloud, int nodes, ResourceVector allocatable) {
            this.name = name;
            this.cloud = cloud;
            this.nodes = nodes;
            this.allocatable = allocatable;
            this.region = "region-" + name;
        }

        /** Every {@code k}-th node is already half used by other pods (0: none). */
        public Builder halfUsedEvery(int k) {
            this.halfUsedEvery = k;
            return this;
        }

        /** Created pods stay Pending and unbound instead of running at once. */
        public Builder podsStayPending() {
            this.podsRun = false;
            return this;
        }

        /** Render each created pod as a real member would before sending it (costs what the real one costs). */
        public Builder renderPods() {
            this.render = true;
            return this;
        }

        /** Remember no pods (long benchmarks create millions): listings stay empty, capacity never changes. */
        public Builder keepNoPods() {
            this.keepPods = false;
            return this;
        }

        public InMemoryMemberCluster build() {
            return new InMemoryMemberCluster(this);
        }
    }

    private static ResourceVector halve(ResourceVector v) {
        Map<String, Long> half = new TreeMap<>();
        v.milli().forEach((k, x) -> half.put(k, x / 2));
        return new ResourceVector(half);
    }

    // ------------------------------------------------------------ test controls

    /** Every create fails as if the member dropped the connection (outcome unknown to the caller). */
    public void failCreates(boolean fail) {
        this.failCreates = fail;
    }

    /**
     * The member goes silent, as behind a partition: every create reaches it and is never answered (the call fails
     * with a timeout after {@code attemptDeadline}), and so is every delete (not carried out). {@code podMade}: the
     * pods of those creates were made all the same, and are listed once the member {@link #recover() recovers}; or
     * not. Its state is left as it is (the test says when the sidecar would notice). Ends at recover().
     */
    public void silentCreates(boolean podMade, Duration attemptDeadline) {
        this.silentFor = attemptDeadline;
        this.silentCreates = podMade;
    }

    /** Every create is refused by the member's API server with this status and message (admission, quota); 0 stops. */
    public void refuseCreates(int status, String serverMessage) {
        this.refusal = status == 0 ? null : new MemberApiException(spec.name(), "create pod", status,
                MemberApiException.Kind.of(status, serverMessage), serverMessage, serverMessage, null);
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
        silentCreates = null;
        unheard.clear();
        for (WorkerPod p : pods.values()) {
            listeners.forEach(l -> l.onUpsert(p));
        }
        setState(MemberState.HEALTHY);
    }

    public void setState(MemberState s) {
        if (s != state) {
            stateSince = Instant.now();
        }
        state = s;
        stateListeners.forEach(l -> l.accept(s));
    }

    /** Pods that exist in this member now. */
    public Collection<WorkerPod> pods() {
        return pods.values();
    }

    /** The Kubernetes Events posted on this member's pods, oldest first. */
    public List<PostedEvent> events() {
        return List.copyOf(events);
    }

    @Override
    public CompletionStage<PodEventOutcome> postPodEvent(String podName, String reason, String message, boolean warning) {
        if (!pods.containsKey(podName)) {
            return CompletableFuture.completedFuture(PodEventOutcome.NO_POD);
        }
        events.add(new PostedEvent(podName, reason, message, warning));
        return CompletableFuture.completedFuture(PodEventOutcome.POSTED);
    }

    /** Seeds a pod as if it had been left by an earlier sidecar. */
    public void seed(WorkerPod pod) {
        pods.put(pod.podName(), pod);
        capacityChanged();
    }

    /** Deletes a pod behind the sidecar's back (eviction, kubectl delete). */
    public void deleteBySomeoneElse(String podName) {
        WorkerPod p = pods.remove(podName);
        if (p != null) {
            capacityChanged();
            listeners.forEach(l -> l.onDelete(p));
        }
    }

    // ------------------------------------------------------------ MemberCluster

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
        return stateSince;
    }

    @Override
    public void onStateChange(Consumer<MemberState> listener) {
        stateListeners.add(listener);
    }

    @Override
    public Collection<WorkerPod> workerPods() {
        return pods.values().stream().filter(p -> !unheard.contains(p.podName())).toList();
    }

    @Override
    public void addWorkerPodListener(WorkerPodListener listener) {
        listeners.add(listener);
    }

    @Override
    public CapacityView capacity() {
        return capacity;
    }

    @Override
    public CompletionStage<WorkerPod> createWorker(WorkerPodSpec s) {
        createCalls.incrementAndGet();
        MemberApiException refused = refusal;
        if (refused != null) {
            return CompletableFuture.failedFuture(refused);
        }
        if (failCreates || unreachable) {
            return CompletableFuture.failedFuture(new IllegalStateException("member " + spec.name() + " refused"));
        }
        Boolean silent = silentCreates;
        if (silent != null) {
            if (silent) { // made, but nobody hears of it until the member recovers (no listener is told)
                unheard.add(s.podName());
                pods.put(s.podName(), new WorkerPod(spec.name(), s.podName(), "uid-" + s.podName(), s.nodeId(), s.pool(),
                        s.virtualCluster(), s.rayNodeType(), s.tags(), s.requestId(), s.requestHash(), s.requestCount(),
                        "Pending", false, null, null, null, null, null, false, Instant.now(), s.resources()));
            }
            return new CompletableFuture<WorkerPod>().orTimeout(silentFor.toMillis(), TimeUnit.MILLISECONDS);
        }
        if (render) {
            WorkerPodRenderer.render(s); // what a real member builds before it sends the create
        }
        boolean runs = podsRun && !stall;
        String node = runs ? nodeWithRoom(s.resources()) : null;
        if (runs && node == null) {
            runs = false; // full: the pod stays Pending like on a real member
        }
        WorkerPod pod = new WorkerPod(spec.name(), s.podName(), "uid-" + s.podName(), s.nodeId(), s.pool(),
                s.virtualCluster(), s.rayNodeType(), s.tags(), s.requestId(), s.requestHash(), s.requestCount(),
                runs ? "Running" : "Pending", runs, node, runs ? "10.0.0." + (pods.size() % 250) : null,
                runs ? "192.168.0.1" : null, stall || (podsRun && !runs) ? WorkerPod.Condition.UNSCHEDULABLE : null,
                stall || (podsRun && !runs) ? "0/" + baseRooms.size() + " nodes are available: Insufficient cpu" : null,
                false, Instant.now(), s.resources());
        if (keepPods) {
            pods.put(pod.podName(), pod);
            if (runs) {
                capacityChanged();
            }
        }
        listeners.forEach(l -> l.onUpsert(pod));
        return CompletableFuture.completedFuture(pod);
    }

    @Override
    public CompletionStage<Boolean> updateWorkerTags(String podName, Map<String, String> tags) {
        return CompletableFuture.completedFuture(pods.containsKey(podName));
    }

    @Override
    public CompletionStage<Boolean> deleteWorker(String podName) {
        deleteCalls.incrementAndGet();
        if (unreachable) {
            return CompletableFuture.failedFuture(new IllegalStateException("connection refused"));
        }
        if (silentCreates != null) {
            return new CompletableFuture<Boolean>().orTimeout(silentFor.toMillis(), TimeUnit.MILLISECONDS);
        }
        WorkerPod p = pods.remove(podName);
        if (p != null) {
            capacityChanged();
            listeners.forEach(l -> l.onDelete(p));
        }
        return CompletableFuture.completedFuture(p != null);
    }

    @Override
    public void close() {
    }

    // ------------------------------------------------------------ capacity

    /** The first node (in order) that still has room for {@code requests}, counting the pods running there. */
    private synchronized String nodeWithRoom(ResourceVector requests) {
        Map<String, ResourceVector> used = usedByNode();
        Map<String, Long> needMilli = new TreeMap<>(requests == null ? Map.of() : requests.milli());
        needMilli.remove(ResourceNames.PODS);
        ResourceVector need = new ResourceVector(needMilli);
        for (NodeRoom r : baseRooms) {
            ResourceVector free = r.allocatable().minus(r.used()).minus(used.getOrDefault(r.name(), ResourceVector.EMPTY));
            if (free.covers(need)) {
                return r.name();
            }
        }
        return null;
    }

    private Map<String, ResourceVector> usedByNode() {
        Map<String, ResourceVector> used = new java.util.HashMap<>();
        for (WorkerPod p : pods.values()) {
            if (p.kubeNode() != null && p.requests() != null) {
                used.merge(p.kubeNode(), p.requests(), ResourceVector::plus);
            }
        }
        return used;
    }

    private synchronized void capacityChanged() {
        Map<String, ResourceVector> used = usedByNode();
        List<NodeRoom> rooms = new ArrayList<>(baseRooms.size());
        for (NodeRoom r : baseRooms) {
            ResourceVector extra = used.get(r.name());
            rooms.add(extra == null ? r : new NodeRoom(r.name(), r.labels(), r.taints(), r.ready(), r.cordoned(),
                    r.allocatable(), r.used().plus(extra)));
        }
        capacity = NodeCapacity.ofRooms(rooms, ResourceVector.EMPTY);
    }

    /** A Kubernetes Event posted on a pod of this member. */
    public record PostedEvent(String podName, String reason, String message, boolean warning) {
    }
}
