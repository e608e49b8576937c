package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.render.WorkerPodContract;
import dev.rayfederation.k8s.resources.ResourceVector;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * One set of informers of a member: our worker pods (its namespace, our labels), and for capacity the Nodes
 * and the non-terminated pods of all namespaces. When Nodes may not be listed ({@link MemberAccess}) capacity
 * falls back to staticCapacity or unknown; when pods of all namespaces may not be listed, to the pods of the
 * member's namespace. Each fallback is recorded as a {@link #gaps() gap} (the member is then DEGRADED).
 * A set that failed to start is closed and replaced by a new one.
 */
final class MemberInformers implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(MemberInformers.class);

    private final KubernetesClient client;
    private final MemberClusterSpec spec;
    private final String rayClusterName;
    private final CapacityLedger ledger;
    private final ResourceEventHandler<Pod> workerEvents;
    private final CompactPodStore<WorkerPod> workerStore;
    private final List<String> gaps = new CopyOnWriteArrayList<>();
    private volatile String lastError;
    private volatile SharedIndexInformer<Pod> workers;
    private volatile SharedIndexInformer<Node> nodes;
    private volatile SharedIndexInformer<Pod> pods;
    private volatile boolean nodesVisible;
    private volatile boolean closed;

    /**
     * @param workerCache what the informer of our worker pods reports to; its translation of a pod is what that
     *                    informer's store keeps, and the very record the cache then holds
     */
    MemberInformers(KubernetesClient client, MemberClusterSpec spec, MemberClusterOptions options,
                    WorkerPodCache workerCache) {
        this.client = client;
        this.spec = spec;
        this.workerStore = CompactPodStore.keeping(workerCache::translate);
        this.workerEvents = workerCache.events(workerStore::recordOf);
        this.ledger = new CapacityLedger(options.gpuResourceName(), staticCapacity(spec));
        this.rayClusterName = options.rayClusterName();
    }

    /**
     * Starts the informers that {@code access} allows; completes when all have synced, fails on the first failure.
     * Static mode watches only our worker pods.
     */
    CompletableFuture<Void> start(MemberAccess access) {
        workers = client.pods().inNamespace(spec.namespace())
                .withLabels(WorkerPodContract.selector(rayClusterName))
                .runnableInformer(0);
        workers.itemStore(workerStore);
        workers.addEventHandler(workerEvents);
        boolean counting = !spec.staticOnly() && access.nodes();
        if (counting) {
            // our worker pods reach the ledger through this watch; the watch of all pods leaves them out, so that each
            // create costs one watch event instead of two
            workers.addEventHandler(handler(ledger::putPod, ledger::removePod));
        }
        List<CompletableFuture<Void>> synced = new ArrayList<>();
        synced.add(started(workers));
        if (!spec.staticOnly()) {
            if (counting) {
                SharedIndexInformer<Node> n = client.nodes().runnableInformer(0);
                n.itemStore(TrimmingItemStore.forNodes());
                n.addEventHandler(handler(ledger::putNode, ledger::removeNode));
                nodes = n;
                synced.add(started(n).thenRun(() -> nodesVisible = true));
                var scope = access.clusterPods() ? client.pods().inAnyNamespace() : client.pods().inNamespace(spec.namespace());
                // every pod but this Ray cluster's workers (a pod labelled as one of them that the workers' selector
                // does not match is counted by neither: only the sidecar gives that label)
                SharedIndexInformer<Pod> p = scope
                        .withoutLabel(WorkerPodContract.LABEL_RAY_CLUSTER, rayClusterName)
                        .withoutField("status.phase", "Succeeded")
                        .withoutField("status.phase", "Failed")
                        .runnableInformer(0);
                p.itemStore(CompactPodStore.namesOnly()); // the ledger keeps what capacity needs
                p.addEventHandler(handler(ledger::putPod, ledger::removePod));
                this.pods = p;
                synced.add(started(p));
                if (!access.clusterPods()) {
                    gaps.add("cannot list pods in all namespaces (" + access.clusterPodsProblem()
                            + "): capacity counts only pods in namespace " + spec.namespace());
                }
            } else {
                gaps.add("cannot list Nodes (" + access.nodesProblem() + "): "
                        + (staticCapacity(spec).isEmpty() ? "capacity unknown" : "capacity from staticCapacity only"));
            }
        }
        return CompletableFuture.allOf(synced.toArray(CompletableFuture[]::new));
    }

    /**
     * Starts an informer. Until it has synced, a failure stops it (and fails the start: the member retries
     * with a new set); afterwards fabric8 keeps retrying, and the member's health check notices that it is
     * not watching.
     */
    private <T> CompletableFuture<Void> started(SharedIndexInformer<T> informer) {
        informer.exceptionHandler((isStarted, t) -> {
            lastError = ApiFailures.describe(t);
            if (isStarted) {
                LOG.debug("member {}: {} informer failed, retrying: {}", spec.name(), informer.getApiTypeClass().getSimpleName(), lastError);
            }
            return isStarted && !closed;
        });
        return informer.start().toCompletableFuture();
    }

    private static <T> ResourceEventHandler<T> handler(Consumer<T> upsert, Consumer<T> delete) {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(T obj) {
                upsert.accept(obj);
            }

            @Override
            public void onUpdate(T oldObj, T newObj) {
                upsert.accept(newObj);
            }

            @Override
            public void onDelete(T obj, boolean deletedFinalStateUnknown) {
                delete.accept(obj);
            }
        };
    }

    private static ResourceVector staticCapacity(MemberClusterSpec spec) {
        return spec.staticCapacity() == null ? ResourceVector.EMPTY : spec.staticCapacity();
    }

    /** Our worker pods as the informer's store holds them now. */
    List<WorkerPod> workerPods() {
        return workerStore.records().toList();
    }

    /** True when every running informer has a live watch. */
    boolean allWatching() {
        SharedIndexInformer<Pod> w = workers;
        SharedIndexInformer<Node> n = nodes;
        SharedIndexInformer<Pod> p = pods;
        return w != null && w.isWatching() && (n == null || n.isWatching()) && (p == null || p.isWatching());
    }

    /** Nodes could be listed: capacity comes from them. */
    boolean nodesVisible() {
        return nodesVisible;
    }

    CapacityLedger ledger() {
        return ledger;
    }

    /** What this set cannot see (each a sentence), empty for a full view. */
    List<String> gaps() {
        return List.copyOf(gaps);
    }

    /** The last informer failure, or null. */
    String lastError() {
        return lastError;
    }

    @Override
    public void close() {
        closed = true;
        stop(workers);
        stop(nodes);
        stop(pods);
    }

    private static void stop(SharedIndexInformer<?> informer) {
        if (informer != null) {
            try {
                informer.stop();
            } catch (RuntimeException e) {
                LOG.debug("stopping an informer failed", e);
            }
        }
    }
}
