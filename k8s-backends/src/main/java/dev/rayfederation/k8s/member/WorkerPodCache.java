package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.resources.ResourceVector;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * The worker pods of one member as its informers last saw them, and the fan-out of their changes to the
 * {@link WorkerPodListener}s. It outlives the informer sets: while the member is unreachable it keeps the last
 * known pods, and after a (re)sync {@link #reconcile} makes the new informer's store the truth.
 */
final class WorkerPodCache {

    private static final Logger LOG = LoggerFactory.getLogger(WorkerPodCache.class);

    private final String member;
    private final String gpuResourceName;
    private final Map<String, WorkerPod> workers = new HashMap<>();
    private final Object lock = new Object();
    private final List<WorkerPodListener> listeners = new CopyOnWriteArrayList<>();

    WorkerPodCache(String member, String gpuResourceName) {
        this.member = member;
        this.gpuResourceName = gpuResourceName;
    }

    void addListener(WorkerPodListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    Collection<WorkerPod> all() {
        synchronized (lock) {
            return List.copyOf(workers.values());
        }
    }

    /** One worker pod by name. */
    Optional<WorkerPod> get(String podName) {
        synchronized (lock) {
            return Optional.ofNullable(workers.get(podName));
        }
    }

    /**
     * What the member's informer of our worker pods reports to, reusing the record its store already made of a pod
     * ({@code kept} answers null when it has none for that version), so each worker is held once, not twice.
     */
    ResourceEventHandler<Pod> events(Function<Pod, WorkerPod> kept) {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(Pod pod) {
                upsert(known(kept, pod));
            }

            @Override
            public void onUpdate(Pod oldPod, Pod newPod) {
                upsert(known(kept, newPod));
            }

            @Override
            public void onDelete(Pod pod, boolean deletedFinalStateUnknown) {
                remove(pod);
            }
        };
    }

    /** After a (re)sync: the informer's store is the truth; pods we knew that are no longer there are gone. */
    void reconcile(Collection<WorkerPod> live) {
        List<WorkerPod> gone = new ArrayList<>();
        synchronized (lock) {
            Set<String> names = new HashSet<>();
            for (WorkerPod w : live) {
                names.add(w.podName());
                workers.put(w.podName(), w);
            }
            workers.keySet().removeIf(name -> {
                if (names.contains(name)) {
                    return false;
                }
                gone.add(workers.get(name));
                return true;
            });
        }
        gone.forEach(this::notifyDeleted);
    }

    /** What our non-terminated workers request in total. */
    ResourceVector requests() {
        ResourceVector sum = ResourceVector.EMPTY;
        for (WorkerPod w : all()) {
            if (!w.terminated()) {
                sum = sum.plus(w.requests());
            }
        }
        return sum;
    }

    WorkerPod translate(Pod pod) {
        return WorkerPods.from(member, pod, gpuResourceName);
    }

    private WorkerPod known(Function<Pod, WorkerPod> kept, Pod pod) {
        WorkerPod w = kept.apply(pod);
        return w != null ? w : translate(pod);
    }

    private void upsert(WorkerPod w) {
        if (w.podName() == null) {
            return;
        }
        synchronized (lock) {
            workers.put(w.podName(), w);
        }
        for (WorkerPodListener l : listeners) {
            try {
                l.onUpsert(w);
            } catch (RuntimeException e) {
                LOG.warn("member {}: worker pod listener failed on {}", member, w.podName(), e);
            }
        }
    }

    private void remove(Pod pod) {
        WorkerPod w = translate(pod);
        WorkerPod known;
        synchronized (lock) {
            known = workers.remove(w.podName());
        }
        if (known != null) {
            // a pod found gone at a re-list comes as what the informer's store kept of it: its name only
            notifyDeleted(w.nodeId() != null ? w : known);
        }
    }

    private void notifyDeleted(WorkerPod w) {
        for (WorkerPodListener l : listeners) {
            try {
                l.onDelete(w);
            } catch (RuntimeException e) {
                LOG.warn("member {}: worker pod listener failed on {}", member, w.podName(), e);
            }
        }
    }
}
