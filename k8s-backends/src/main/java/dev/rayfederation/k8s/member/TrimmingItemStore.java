package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.render.WorkerPodContract;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStateBuilder;
import io.fabric8.kubernetes.api.model.ContainerStateWaiting;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.NodeConditionBuilder;
import io.fabric8.kubernetes.api.model.NodeSpec;
import io.fabric8.kubernetes.api.model.NodeStatus;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.fabric8.kubernetes.client.informers.cache.ItemStore;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * An informer item store that keeps only the fields the sidecar reads, so that watching every pod and node
 * of a large member costs little memory: for capacity, a pod's requests, node and phase; for our worker pods,
 * what {@link WorkerPods#from} reads (a worker pod as the API server returns it is mostly its container
 * command, environment and volumes, which the sidecar wrote itself and never reads back). Event handlers still
 * receive the full new object; only the cached copy (the "old" object of the next update, and what a re-sync
 * reads from the store) is trimmed.
 */
final class TrimmingItemStore<T extends HasMetadata> implements ItemStore<T> {

    private static final Set<String> WORKER_LABELS = Set.of(WorkerPodContract.LABEL_NODE_ID, WorkerPodContract.LABEL_POOL,
            WorkerPodContract.LABEL_VIRTUAL_CLUSTER, WorkerPodContract.LABEL_NODE_TYPE);
    private static final Set<String> WORKER_ANNOTATIONS = Set.of(WorkerPodContract.ANNOTATION_TAGS,
            WorkerPodContract.ANNOTATION_REQUEST_ID, WorkerPodContract.ANNOTATION_REQUEST_HASH,
            WorkerPodContract.ANNOTATION_REQUEST_COUNT);

    private final Map<String, T> items = new ConcurrentHashMap<>();
    private final UnaryOperator<T> trim;

    private TrimmingItemStore(UnaryOperator<T> trim) {
        this.trim = trim;
    }

    static TrimmingItemStore<Pod> forPods() {
        return new TrimmingItemStore<>(TrimmingItemStore::trimPod);
    }

    /** For the informer of our worker pods: {@link WorkerPods#from} reads the trimmed pod as it read the whole. */
    static TrimmingItemStore<Pod> forWorkers() {
        return new TrimmingItemStore<>(TrimmingItemStore::trimWorker);
    }

    static TrimmingItemStore<Node> forNodes() {
        return new TrimmingItemStore<>(TrimmingItemStore::trimNode);
    }

    @Override
    public String getKey(T obj) {
        return Cache.metaNamespaceKeyFunc(obj);
    }

    @Override
    public T put(String key, T obj) {
        return items.put(key, trim.apply(obj));
    }

    @Override
    public T remove(String key) {
        return items.remove(key);
    }

    @Override
    public Stream<String> keySet() {
        return items.keySet().stream();
    }

    @Override
    public Stream<T> values() {
        return items.values().stream();
    }

    @Override
    public int size() {
        return items.size();
    }

    @Override
    public T get(String key) {
        return items.get(key);
    }

    private static ObjectMeta meta(ObjectMeta m) {
        ObjectMeta t = new ObjectMeta();
        if (m != null) {
            t.setName(m.getName());
            t.setNamespace(m.getNamespace());
            t.setUid(m.getUid());
            t.setResourceVersion(m.getResourceVersion());
        }
        return t;
    }

    static Pod trimPod(Pod p) {
        Pod t = new Pod();
        t.setMetadata(meta(p.getMetadata()));
        if (p.getSpec() != null) {
            PodSpec s = new PodSpec();
            s.setNodeName(p.getSpec().getNodeName());
            s.setContainers(resourcesOnly(p.getSpec().getContainers()));
            s.setInitContainers(resourcesOnly(p.getSpec().getInitContainers()));
            s.setOverhead(p.getSpec().getOverhead());
            t.setSpec(s);
        }
        if (p.getStatus() != null) {
            PodStatus s = new PodStatus();
            s.setPhase(p.getStatus().getPhase());
            t.setStatus(s);
        }
        return t;
    }

    static Pod trimWorker(Pod p) {
        Pod t = trimPod(p);
        ObjectMeta m = p.getMetadata();
        if (m != null) {
            ObjectMeta tm = t.getMetadata();
            tm.setLabels(only(m.getLabels(), WORKER_LABELS));
            tm.setAnnotations(only(m.getAnnotations(), WORKER_ANNOTATIONS));
            tm.setCreationTimestamp(m.getCreationTimestamp());
            tm.setDeletionTimestamp(m.getDeletionTimestamp());
        }
        PodStatus s = p.getStatus();
        if (s != null) {
            PodStatus ts = t.getStatus();
            ts.setReason(s.getReason());
            ts.setMessage(s.getMessage());
            ts.setPodIP(s.getPodIP());
            ts.setHostIP(s.getHostIP());
            ts.setConditions(s.getConditions() == null ? null : s.getConditions().stream()
                    .map(c -> new PodConditionBuilder().withType(c.getType()).withStatus(c.getStatus())
                            .withReason(c.getReason()).withMessage(c.getMessage()).build())
                    .toList());
            ts.setInitContainerStatuses(waitingOnly(s.getInitContainerStatuses()));
            ts.setContainerStatuses(waitingOnly(s.getContainerStatuses()));
        }
        return t;
    }

    private static Map<String, String> only(Map<String, String> all, Set<String> keys) {
        if (all == null) {
            return null;
        }
        Map<String, String> kept = new HashMap<>(4);
        for (String k : keys) {
            String v = all.get(k);
            if (v != null) {
                kept.put(k, v);
            }
        }
        return kept;
    }

    private static List<ContainerStatus> waitingOnly(List<ContainerStatus> statuses) {
        if (statuses == null) {
            return null;
        }
        List<ContainerStatus> out = new ArrayList<>(statuses.size());
        for (ContainerStatus c : statuses) {
            ContainerStatus t = new ContainerStatus();
            t.setName(c.getName());
            ContainerStateWaiting waiting = c.getState() == null ? null : c.getState().getWaiting();
            if (waiting != null) {
                t.setState(new ContainerStateBuilder().withNewWaiting()
                        .withReason(waiting.getReason()).withMessage(waiting.getMessage()).endWaiting().build());
            }
            out.add(t);
        }
        return out;
    }

    private static List<Container> resourcesOnly(List<Container> containers) {
        if (containers == null) {
            return null;
        }
        List<Container> out = new ArrayList<>(containers.size());
        for (Container c : containers) {
            Container t = new Container();
            t.setName(c.getName());
            t.setResources(c.getResources());
            t.setRestartPolicy(c.getRestartPolicy());
            out.add(t);
        }
        return out;
    }

    static Node trimNode(Node n) {
        Node t = new Node();
        ObjectMeta m = meta(n.getMetadata());
        if (n.getMetadata() != null) {
            m.setLabels(n.getMetadata().getLabels());
        }
        t.setMetadata(m);
        if (n.getSpec() != null) {
            NodeSpec s = new NodeSpec();
            s.setUnschedulable(n.getSpec().getUnschedulable());
            s.setTaints(n.getSpec().getTaints());
            t.setSpec(s);
        }
        if (n.getStatus() != null) {
            NodeStatus s = new NodeStatus();
            s.setAllocatable(n.getStatus().getAllocatable());
            s.setCapacity(n.getStatus().getCapacity());
            List<NodeCondition> ready = new ArrayList<>();
            if (n.getStatus().getConditions() != null) {
                for (NodeCondition c : n.getStatus().getConditions()) {
                    if ("Ready".equals(c.getType())) {
                        ready.add(new NodeConditionBuilder().withType(c.getType()).withStatus(c.getStatus())
                                .withReason(c.getReason()).withMessage(c.getMessage()).build());
                    }
                }
            }
            s.setConditions(ready);
            t.setStatus(s);
        }
        return t;
    }
}
