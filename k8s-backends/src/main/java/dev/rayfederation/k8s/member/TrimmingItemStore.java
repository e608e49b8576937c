package dev.rayfederation.k8s.member;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.NodeConditionBuilder;
import io.fabric8.kubernetes.api.model.NodeSpec;
import io.fabric8.kubernetes.api.model.NodeStatus;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.fabric8.kubernetes.client.informers.cache.ItemStore;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * An informer item store that keeps only the fields capacity needs of each Node. Event handlers still receive
 * the full new object; only the cached copy (the "old" object of the next update) is trimmed. Pods, which are
 * many, are kept smaller still by {@link CompactPodStore}.
 */
final class TrimmingItemStore<T extends HasMetadata> implements ItemStore<T> {

    private final Map<String, T> items = new ConcurrentHashMap<>();
    private final UnaryOperator<T> trim;

    private TrimmingItemStore(UnaryOperator<T> trim) {
        this.trim = trim;
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
