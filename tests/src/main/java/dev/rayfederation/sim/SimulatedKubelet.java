package dev.rayfederation.sim;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddress;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;

/**
 * A small kube-scheduler plus kubelet for {@link SimulatedMember}s: it watches Pods and Nodes of each member (one
 * informer each), binds every new pod that has no {@code spec.nodeName} to the first Ready, uncordoned Node (by name)
 * whose labels match the pod's nodeSelector/required affinity, whose NoSchedule/NoExecute taints the pod tolerates
 * and whose free room fits the pod's requests (see {@link PodFit}), then marks it Running and Ready with a pod IP
 * {@code 10.<member#>.x.y} (only a string: nothing listens there).
 *
 * <p>A pod that fits nowhere stays unbound and Pending with condition PodScheduled=False, reason Unschedulable and
 * the scheduler's message; it is retried whenever something changes in its member (a pod deleted, a node added...).
 * Deleted or finished pods free their room. Per member a "stall" switch leaves new pods Pending with no condition at
 * all (a slow or broken scheduler). An optional delay separates binding (Pending, ContainerCreating) from Running.
 * A {@link PodRuntime} hears about pods started and stopped, may choose their pod IPs, and reports pods whose process
 * exited by itself: those are marked Succeeded (exit code 0) or Failed (as a real kubelet does with
 * {@code restartPolicy: Never}).
 *
 * <p>One thread per member; events are coalesced into reconcile passes over the informer caches. Writes are PUTs
 * with the pod's resourceVersion (the CRUD mock has no binding subresource), retried on conflict.
 */
public final class SimulatedKubelet implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SimulatedKubelet.class);

    /**
     * @param runningDelay how long a bound pod stays Pending (ContainerCreating) before Running; zero: at once
     * @param runtime      told about pods started and stopped
     */
    public record Options(Duration runningDelay, PodRuntime runtime) {
        public Options {
            Objects.requireNonNull(runningDelay, "runningDelay");
            Objects.requireNonNull(runtime, "runtime");
            if (runningDelay.isNegative()) {
                throw new IllegalArgumentException("runningDelay: must be >= 0, got " + runningDelay);
            }
        }

        public static Options defaults() {
            return new Options(Duration.ZERO, PodRuntime.NONE);
        }

        public Options withRunningDelay(Duration delay) {
            return new Options(delay, runtime);
        }

        public Options withRuntime(PodRuntime value) {
            return new Options(runningDelay, value);
        }
    }

    private final Map<String, MemberLoop> loops = new LinkedHashMap<>();

    private SimulatedKubelet() {
    }

    /** Starts watching every member; returns once each member's informers have synced. */
    public static SimulatedKubelet start(List<SimulatedMember> members, Options options) {
        SimulatedKubelet kubelet = new SimulatedKubelet();
        options.runtime().attach(kubelet::podExited);
        options.runtime().attachReadiness(kubelet::podReady);
        try {
            for (SimulatedMember m : members) {
                MemberLoop loop = new MemberLoop(m, options);
                kubelet.loops.put(m.name(), loop);
                loop.start();
            }
        } catch (RuntimeException e) {
            kubelet.close();
            throw e;
        }
        return kubelet;
    }

    /** Stalls ({@code true}: new pods stay Pending with no condition) or resumes scheduling in one member. */
    public void stall(String member, boolean stalled) {
        loop(member).setStalled(stalled);
    }

    public boolean isStalled(String member) {
        return loop(member).stalled;
    }

    /**
     * {@code namespace/name} of every pod the last completed reconcile pass of this member looked at: once a pod is
     * in here, the kubelet has decided about it (tests use this instead of sleeping).
     */
    public Set<String> podsSeenByLastPass(String member) {
        return loop(member).lastPass;
    }

    /** A runtime's report that the process of {@code pod} is ready: the pod turns Ready (what its probe would find). */
    private void podReady(String member, Pod pod) {
        MemberLoop loop = loops.get(member);
        if (loop != null) {
            loop.markReady(pod, 0);
        }
    }

    /** A runtime's report that the process of {@code pod} ended: the pod is marked Succeeded or Failed (unless gone). */
    private void podExited(String member, Pod pod, int exitCode, String message) {
        MemberLoop loop = loops.get(member);
        if (loop != null) {
            loop.markFailed(pod, exitCode, message, 0);
        }
    }

    private MemberLoop loop(String member) {
        MemberLoop loop = loops.get(member);
        if (loop == null) {
            throw new IllegalArgumentException("member: unknown '" + member + "' (known: " + loops.keySet() + ")");
        }
        return loop;
    }

    @Override
    public void close() {
        loops.values().forEach(MemberLoop::close);
    }

    /** What the kubelet believes is bound: used by the room accounting even before the informer shows it. */
    private record Bound(String node, ResourceAmounts requests) {
    }

    /** Everything about one member; touched only on its own thread except {@link #poke()} and the stall flag. */
    private static final class MemberLoop {
        private final SimulatedMember member;
        private final Options options;
        private final KubernetesClient client;
        private final ScheduledExecutorService executor;
        private final AtomicBoolean queued = new AtomicBoolean();
        private final Map<String, Bound> bound = new HashMap<>();
        private final Map<String, String> unschedulable = new HashMap<>();
        private final Set<String> started = new HashSet<>();
        private final Set<String> starting = new HashSet<>();
        private final Map<String, Pod> runtimePods = new HashMap<>();
        private final Set<String> seenKeys = new HashSet<>();
        private long nextIp;
        private volatile boolean stalled;
        private volatile boolean closed;
        private volatile Set<String> lastPass = Set.of();
        private volatile SharedIndexInformer<Pod> pods;
        private volatile SharedIndexInformer<Node> nodes;

        MemberLoop(SimulatedMember member, Options options) {
            this.member = member;
            this.options = options;
            this.client = member.newClient();
            this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "kubelet-" + member.name());
                t.setDaemon(true);
                return t;
            });
        }

        void start() {
            ResourceEventHandler<Object> poke = new ResourceEventHandler<>() {
                @Override
                public void onAdd(Object obj) {
                    poke();
                }

                @Override
                public void onUpdate(Object oldObj, Object newObj) {
                    poke();
                }

                @Override
                public void onDelete(Object obj, boolean deletedFinalStateUnknown) {
                    poke();
                }
            };
            nodes = client.nodes().inform(cast(poke), 0);
            pods = client.pods().inAnyNamespace().inform(cast(poke), 0);
            poke();
        }

        @SuppressWarnings("unchecked")
        private static <T> ResourceEventHandler<T> cast(ResourceEventHandler<Object> h) {
            return (ResourceEventHandler<T>) (ResourceEventHandler<?>) h;
        }

        void setStalled(boolean value) {
            stalled = value;
            poke();
        }

        void poke() {
            if (!closed && queued.compareAndSet(false, true)) {
                executor.execute(() -> {
                    queued.set(false);
                    try {
                        reconcile();
                        lastPass = Set.copyOf(seenKeys);
                    } catch (KubernetesClientException e) {
                        LOG.debug("{}: API call failed ({}); retrying in 1s", member.name(), e.getMessage());
                        retrySoon();
                    } catch (RuntimeException e) {
                        LOG.warn("{}: reconcile failed; retrying in 1s", member.name(), e);
                        retrySoon();
                    }
                });
            }
        }

        private void retrySoon() {
            if (!closed) {
                executor.schedule(this::poke, 1, TimeUnit.SECONDS);
            }
        }

        private void reconcile() {
            if (closed || pods == null || nodes == null) {
                return; // start() pokes once both informers are there
            }
            List<Pod> all = new ArrayList<>(pods.getStore().list());
            seenKeys.clear();
            all.forEach(p -> seenKeys.add(p.getMetadata().getNamespace() + "/" + p.getMetadata().getName()));
            Map<String, Pod> live = new HashMap<>();
            for (Pod p : all) {
                live.put(uid(p), p);
            }
            forgetGone(live);
            for (Pod p : all) {
                if (!PodFit.isTerminated(p) && p.getSpec() != null && p.getSpec().getNodeName() != null
                        && !bound.containsKey(uid(p))) {
                    bound.put(uid(p), new Bound(p.getSpec().getNodeName(), withPodSlot(PodFit.requests(p))));
                }
            }
            startBoundPods(all);
            if (stalled) {
                return;
            }
            List<Node> nodeList = new ArrayList<>(nodes.getStore().list());
            nodeList.sort(Comparator.comparing(n -> n.getMetadata().getName()));
            Map<String, ResourceAmounts> used = new HashMap<>();
            bound.values().forEach(b -> used.merge(b.node(), b.requests(), ResourceAmounts::plus));
            List<Pod> pending = all.stream()
                    .filter(p -> !PodFit.isTerminated(p) && p.getSpec() != null && p.getSpec().getNodeName() == null
                            && !bound.containsKey(uid(p)))
                    .sorted(Comparator.comparing((Pod p) -> Objects.toString(p.getMetadata().getCreationTimestamp(), ""))
                            .thenComparing(p -> p.getMetadata().getName()))
                    .toList();
            for (Pod p : pending) {
                PodFit.Placement placement = PodFit.place(p, nodeList, used);
                if (placement.bound()) {
                    Node node = nodeList.stream().filter(n -> n.getMetadata().getName().equals(placement.nodeName()))
                            .findFirst().orElseThrow();
                    if (bind(p, node)) {
                        used.merge(node.getMetadata().getName(), withPodSlot(PodFit.requests(p)), ResourceAmounts::plus);
                    }
                } else {
                    markUnschedulable(p, placement.message());
                }
            }
        }

        /** Forgets pods that are gone or terminating: their room is free again; the runtime hears about it. */
        private void forgetGone(Map<String, Pod> live) {
            for (String uid : new ArrayList<>(bound.keySet())) {
                Pod p = live.get(uid);
                if (p == null || PodFit.isTerminated(p)) {
                    bound.remove(uid);
                    started.remove(uid);
                    starting.remove(uid);
                    Pod last = runtimePods.remove(uid);
                    if (last != null) {
                        notifyRuntime(() -> options.runtime().stopped(member.name(), p == null ? last : p));
                    }
                }
            }
            unschedulable.keySet().removeIf(uid -> !live.containsKey(uid));
        }

        /** Pods bound (by us or before us) that are not Running yet get started (now or after the delay). */
        private void startBoundPods(List<Pod> all) {
            for (Pod p : all) {
                String uid = uid(p);
                if (PodFit.isTerminated(p) || !bound.containsKey(uid) || started.contains(uid) || starting.contains(uid)) {
                    continue;
                }
                if (p.getStatus() != null && "Running".equals(p.getStatus().getPhase())) {
                    started.add(uid);
                } else if (p.getSpec().getNodeName() != null) {
                    scheduleStart(p);
                }
            }
        }

        private boolean bind(Pod seen, Node node) {
            String nodeName = node.getMetadata().getName();
            String hostIp = hostIp(node);
            boolean runNow = options.runningDelay().isZero();
            String podIp = runNow ? podIpFor(seen) : null;
            Pod updated = update(seen, current -> {
                if (current.getSpec().getNodeName() != null) {
                    return null;
                }
                current.getSpec().setNodeName(nodeName);
                current.setStatus(runNow ? running(current, hostIp, podIp, readyOnStart(current)) : creating(current, hostIp));
                return current;
            });
            if (updated == null || !nodeName.equals(updated.getSpec().getNodeName())) {
                return false;
            }
            bound.put(uid(seen), new Bound(nodeName, withPodSlot(PodFit.requests(updated))));
            unschedulable.remove(uid(seen));
            LOG.debug("{}: bound {} to {}", member.name(), updated.getMetadata().getName(), nodeName);
            if (runNow) {
                startedNow(updated);
            } else {
                scheduleStart(updated);
            }
            return true;
        }

        private void scheduleStart(Pod pod) {
            String uid = uid(pod);
            starting.add(uid);
            executor.schedule(() -> {
                try {
                    markRunning(pod);
                } catch (KubernetesClientException e) {
                    LOG.debug("{}: cannot start {} yet ({})", member.name(), pod.getMetadata().getName(), e.getMessage());
                    starting.remove(uid);
                    retrySoon();
                }
            }, options.runningDelay().toMillis(), TimeUnit.MILLISECONDS);
        }

        private void markRunning(Pod pod) {
            String uid = uid(pod);
            if (closed || !starting.remove(uid) || !bound.containsKey(uid)) {
                return;
            }
            Node node = nodes.getStore().getByKey(bound.get(uid).node());
            String hostIp = node == null ? null : hostIp(node);
            Pod latest = pods.getStore().get(pod);
            String podIp = podIpFor(latest == null ? pod : latest);
            Pod updated = update(latest == null ? pod : latest, current -> {
                if (PodFit.isTerminated(current)) {
                    return null;
                }
                current.setStatus(running(current, hostIp, podIp, readyOnStart(current)));
                return current;
            });
            if (updated != null && !PodFit.isTerminated(updated)) {
                startedNow(updated);
            }
        }

        private void startedNow(Pod pod) {
            started.add(uid(pod));
            runtimePods.put(uid(pod), pod);
            notifyRuntime(() -> options.runtime().started(member.name(), pod));
        }

        private void notifyRuntime(Runnable call) {
            try {
                call.run();
            } catch (RuntimeException e) {
                LOG.warn("{}: pod runtime failed", member.name(), e);
            }
        }

        /** Ready as soon as it runs, unless it has a readiness probe and the runtime reports readiness. */
        private boolean readyOnStart(Pod pod) {
            return !options.runtime().reportsReadiness() || !hasReadinessProbe(pod);
        }

        /** Marks a Running pod Ready; retried a few times on API errors. */
        void markReady(Pod pod, int attempt) {
            if (closed) {
                return;
            }
            try {
                executor.schedule(() -> markReadyNow(pod, attempt), attempt == 0 ? 0 : 1, TimeUnit.SECONDS);
            } catch (RejectedExecutionException e) {
                // closing: the pod goes away with its member
            }
        }

        private void markReadyNow(Pod pod, int attempt) {
            Pod latest = pods == null ? null : pods.getStore().get(pod);
            if (closed || latest == null || !uid(pod).equals(uid(latest))) {
                return;
            }
            try {
                update(latest, current -> {
                    if (PodFit.isTerminated(current) || current.getStatus() == null
                            || !"Running".equals(current.getStatus().getPhase())) {
                        return null;
                    }
                    current.setStatus(running(current, current.getStatus().getHostIP(), current.getStatus().getPodIP(), true));
                    return current;
                });
            } catch (KubernetesClientException e) {
                if (attempt < 5) {
                    markReady(pod, attempt + 1);
                } else {
                    LOG.warn("{}: cannot mark {} ready: {}", member.name(), pod.getMetadata().getName(), e.getMessage());
                }
            }
        }

        /** Marks the pod Failed with its container terminated ({@code exitCode}); retried a few times on API errors. */
        void markFailed(Pod pod, int exitCode, String message, int attempt) {
            if (closed) {
                return;
            }
            try {
                executor.schedule(() -> markFailedNow(pod, exitCode, message, attempt), attempt == 0 ? 0 : 1,
                        TimeUnit.SECONDS);
            } catch (RejectedExecutionException e) {
                // closing: the pod goes away with its member
            }
        }

        private void markFailedNow(Pod pod, int exitCode, String message, int attempt) {
            Pod latest = pods == null ? null : pods.getStore().get(pod);
            if (closed || latest == null || !uid(pod).equals(uid(latest))) {
                return;
            }
            try {
                update(latest, current -> {
                    if (PodFit.isTerminated(current)) {
                        return null;
                    }
                    current.setStatus(failed(current, exitCode, message));
                    return current;
                });
                LOG.debug("{}: {} failed (exit code {})", member.name(), pod.getMetadata().getName(), exitCode);
            } catch (KubernetesClientException e) {
                if (attempt < 5) {
                    markFailed(pod, exitCode, message, attempt + 1);
                } else {
                    LOG.warn("{}: cannot mark {} failed: {}", member.name(), pod.getMetadata().getName(), e.getMessage());
                }
            }
        }

        private void markUnschedulable(Pod seen, String message) {
            String uid = uid(seen);
            if (message.equals(unschedulable.get(uid)) || message.equals(unschedulableMessage(seen))) {
                unschedulable.put(uid, message);
                return;
            }
            Pod updated = update(seen, current -> {
                if (current.getSpec().getNodeName() != null) {
                    return null;
                }
                current.setStatus(unschedulableStatus(message));
                return current;
            });
            if (updated != null) {
                unschedulable.put(uid, message);
            }
        }

        /**
         * PUT the changed pod, first from the cached copy, then (on a resourceVersion conflict) from a fresh GET.
         * {@code change} returns null when nothing is to be done. Null when the pod is gone or was replaced.
         */
        private Pod update(Pod seen, UnaryOperator<Pod> change) {
            String ns = seen.getMetadata().getNamespace();
            String name = seen.getMetadata().getName();
            Pod current = copy(seen);
            for (int attempt = 0; attempt < 6; attempt++) {
                if (current == null || !uid(seen).equals(uid(current))) {
                    return null;
                }
                Pod changed = change.apply(current);
                if (changed == null) {
                    return current;
                }
                try {
                    return client.pods().inNamespace(ns).resource(changed).update();
                } catch (KubernetesClientException e) {
                    if (e.getCode() == 404) {
                        return null;
                    }
                    if (e.getCode() != 409) {
                        throw e;
                    }
                }
                current = client.pods().inNamespace(ns).withName(name).get();
            }
            throw new KubernetesClientException("pod " + ns + "/" + name + " kept changing: 6 update conflicts in a row");
        }

        private static Pod copy(Pod p) {
            return new io.fabric8.kubernetes.api.model.PodBuilder(p).build();
        }

        private String podIpFor(Pod pod) {
            return options.runtime().podIp(member.name(), pod, nextPodIp());
        }

        private String nextPodIp() {
            long n = nextIp++;
            return "10." + (member.index() + 1) + "." + (n / 250 % 256) + "." + (n % 250 + 1);
        }

        void close() {
            closed = true;
            if (pods != null) {
                pods.close();
            }
            if (nodes != null) {
                nodes.close();
            }
            executor.shutdownNow();
            try {
                executor.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            client.close();
        }
    }

    private static ResourceAmounts withPodSlot(ResourceAmounts requests) {
        return requests.plus(ResourceAmounts.single("pods", 1));
    }

    private static String uid(Pod p) {
        return p.getMetadata().getUid();
    }

    private static String hostIp(Node node) {
        if (node.getStatus() != null && node.getStatus().getAddresses() != null) {
            for (NodeAddress a : node.getStatus().getAddresses()) {
                if ("InternalIP".equals(a.getType())) {
                    return a.getAddress();
                }
            }
        }
        return null;
    }

    private static String unschedulableMessage(Pod p) {
        if (p.getStatus() == null || p.getStatus().getConditions() == null) {
            return null;
        }
        for (PodCondition c : p.getStatus().getConditions()) {
            if ("PodScheduled".equals(c.getType()) && "False".equals(c.getStatus()) && "Unschedulable".equals(c.getReason())) {
                return c.getMessage();
            }
        }
        return null;
    }

    private static PodCondition condition(String type, boolean status, String now) {
        return new PodConditionBuilder().withType(type).withStatus(status ? "True" : "False")
                .withLastTransitionTime(now).build();
    }

    static PodStatus unschedulableStatus(String message) {
        String now = Instant.now().toString();
        return new PodStatusBuilder().withPhase("Pending")
                .withConditions(new PodConditionBuilder().withType("PodScheduled").withStatus("False")
                        .withReason("Unschedulable").withMessage(message).withLastTransitionTime(now).build())
                .build();
    }

    static PodStatus creating(Pod pod, String hostIp) {
        String now = Instant.now().toString();
        List<ContainerStatus> containers = pod.getSpec().getContainers().stream()
                .map(c -> new ContainerStatusBuilder().withName(c.getName()).withImage(c.getImage())
                        .withReady(false).withStarted(false).withRestartCount(0)
                        .withNewState().withNewWaiting().withReason("ContainerCreating").endWaiting().endState()
                        .build())
                .toList();
        return new PodStatusBuilder().withPhase("Pending").withHostIP(hostIp).withStartTime(now)
                .withConditions(condition("PodScheduled", true, now), condition("Initialized", true, now),
                        new PodConditionBuilder(condition("ContainersReady", false, now)).withReason("ContainersNotReady").build(),
                        new PodConditionBuilder(condition("Ready", false, now)).withReason("ContainersNotReady").build())
                .withContainerStatuses(containers)
                .build();
    }

    /** Ended with {@code exitCode}: Succeeded (reason Completed) for 0, else Failed (reason Error). */
    static PodStatus failed(Pod pod, int exitCode, String message) {
        String now = Instant.now().toString();
        PodStatus before = pod.getStatus() == null ? new PodStatus() : pod.getStatus();
        String reason = exitCode == 0 ? "Completed" : "Error";
        List<ContainerStatus> containers = pod.getSpec().getContainers().stream()
                .map(c -> new ContainerStatusBuilder().withName(c.getName()).withImage(c.getImage())
                        .withReady(false).withStarted(false).withRestartCount(0)
                        .withNewState().withNewTerminated().withExitCode(exitCode).withReason(reason)
                        .withMessage(message).withFinishedAt(now).endTerminated().endState()
                        .build())
                .toList();
        return new PodStatusBuilder().withPhase(exitCode == 0 ? "Succeeded" : "Failed").withReason(reason).withMessage(message)
                .withHostIP(before.getHostIP()).withPodIP(before.getPodIP()).withPodIPs(before.getPodIPs())
                .withStartTime(before.getStartTime())
                .withConditions(condition("PodScheduled", true, now), condition("Initialized", true, now),
                        new PodConditionBuilder(condition("ContainersReady", false, now)).withReason("PodFailed").build(),
                        new PodConditionBuilder(condition("Ready", false, now)).withReason("PodFailed").build())
                .withContainerStatuses(containers)
                .build();
    }

    static boolean hasReadinessProbe(Pod pod) {
        return pod.getSpec().getContainers().stream().anyMatch(c -> c.getReadinessProbe() != null);
    }

    /** Running; {@code ready}: containers with a readiness probe pass it (the others are always ready). */
    static PodStatus running(Pod pod, String hostIp, String podIp, boolean ready) {
        String now = Instant.now().toString();
        String startTime = pod.getStatus() != null && pod.getStatus().getStartTime() != null
                ? pod.getStatus().getStartTime() : now;
        List<ContainerStatus> containers = pod.getSpec().getContainers().stream()
                .map(c -> new ContainerStatusBuilder().withName(c.getName()).withImage(c.getImage())
                        .withImageID("sim://" + c.getImage())
                        .withContainerID("sim://" + pod.getMetadata().getUid() + "/" + c.getName())
                        .withReady(ready || c.getReadinessProbe() == null).withStarted(true).withRestartCount(0)
                        .withNewState().withNewRunning().withStartedAt(now).endRunning().endState()
                        .build())
                .toList();
        return new PodStatusBuilder().withPhase("Running").withHostIP(hostIp).withPodIP(podIp)
                .addNewPodIP().withIp(podIp).endPodIP()
                .withStartTime(startTime)
                .withConditions(condition("PodScheduled", true, now), condition("Initialized", true, now),
                        readiness("ContainersReady", ready, now), readiness("Ready", ready, now))
                .withContainerStatuses(containers)
                .build();
    }

    private static PodCondition readiness(String type, boolean ready, String now) {
        return ready ? condition(type, true, now)
                : new PodConditionBuilder(condition(type, false, now)).withReason("ContainersNotReady").build();
    }
}
