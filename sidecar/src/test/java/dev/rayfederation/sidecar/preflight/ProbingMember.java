package dev.rayfederation.sidecar.preflight;

import dev.rayfederation.k8s.capacity.CapacityView;
import dev.rayfederation.k8s.member.InMemoryMemberCluster;
import dev.rayfederation.k8s.member.MemberClusterSpec;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.member.MemberState;
import dev.rayfederation.k8s.member.ProbePod;
import dev.rayfederation.k8s.member.WorkerPod;
import dev.rayfederation.k8s.member.WorkerPodListener;
import dev.rayfederation.k8s.render.ProbePodSpec;
import dev.rayfederation.k8s.render.WorkerPodSpec;
import dev.rayfederation.k8s.resources.ResourceVector;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * A member whose probe pods follow a script: the first read shows the pod as it starts ({@link #start}), every later
 * read as it ends ({@link #end}). Everything else is an in-memory member's.
 */
final class ProbingMember implements MemberCluster {

    private final InMemoryMemberCluster inner;
    final List<ProbePodSpec> created = new CopyOnWriteArrayList<>();
    final List<String> deleted = new CopyOnWriteArrayList<>();
    /** How a probe pod looks on its first read (null: as on later reads). */
    volatile ProbePod start;
    /** How it looks from then on. */
    volatile ProbePod end;
    private final Map<String, Integer> reads = new java.util.concurrent.ConcurrentHashMap<>();

    ProbingMember(String name) {
        this.inner = InMemoryMemberCluster.builder(name, "cloud-" + name, 1, ResourceVector.ofQuantities(Map.of("CPU", "16")))
                .build();
        inner.start();
    }

    /** The probe runs, with pod IP 10.1.0.5, and ends with {@code exitCode} and {@code message}. */
    void runsAndEnds(int exitCode, String message) {
        start = new ProbePod(null, "Running", "10.1.0.5", null, null, null);
        end = new ProbePod(null, exitCode == 0 ? "Succeeded" : "Failed", "10.1.0.5", exitCode, message, null);
    }

    /** The probe pod never starts: it stays Pending for {@code why}. */
    void neverRuns(String why) {
        start = null;
        end = new ProbePod(null, "Pending", null, null, null, why);
    }

    @Override
    public boolean runsProbes() {
        return true;
    }

    @Override
    public CompletionStage<ProbePod> createProbe(ProbePodSpec spec) {
        created.add(spec);
        return CompletableFuture.completedFuture(new ProbePod(spec.podName(), "Pending", null, null, null, null));
    }

    @Override
    public CompletionStage<Optional<ProbePod>> probe(String podName) {
        if (deleted.contains(podName)) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        int n = reads.merge(podName, 1, Integer::sum);
        ProbePod p = n == 1 && start != null ? start : end;
        return CompletableFuture.completedFuture(Optional.of(
                new ProbePod(podName, p.phase(), p.podIp(), p.exitCode(), p.message(), p.waiting())));
    }

    @Override
    public CompletionStage<Boolean> deleteProbe(String podName) {
        deleted.add(podName);
        return CompletableFuture.completedFuture(true);
    }

    @Override
    public MemberClusterSpec spec() {
        return inner.spec();
    }

    @Override
    public CompletionStage<Void> start() {
        return inner.start();
    }

    @Override
    public MemberState state() {
        return inner.state();
    }

    @Override
    public String stateReason() {
        return inner.stateReason();
    }

    @Override
    public Instant stateSince() {
        return inner.stateSince();
    }

    @Override
    public void onStateChange(Consumer<MemberState> listener) {
        inner.onStateChange(listener);
    }

    @Override
    public Collection<WorkerPod> workerPods() {
        return inner.workerPods();
    }

    @Override
    public void addWorkerPodListener(WorkerPodListener listener) {
        inner.addWorkerPodListener(listener);
    }

    @Override
    public CapacityView capacity() {
        return inner.capacity();
    }

    @Override
    public CompletionStage<WorkerPod> createWorker(WorkerPodSpec spec) {
        return inner.createWorker(spec);
    }

    @Override
    public CompletionStage<Boolean> deleteWorker(String podName) {
        return inner.deleteWorker(podName);
    }

    @Override
    public void close() {
        inner.close();
    }
}
