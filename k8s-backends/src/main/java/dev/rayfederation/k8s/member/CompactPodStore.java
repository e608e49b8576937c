package dev.rayfederation.k8s.member;

import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.fabric8.kubernetes.client.informers.cache.ItemStore;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * An informer item store for pods that keeps no fabric8 Pod: per pod only its name and resourceVersion (what the
 * informer needs to tell an update from a repeat and to find pods gone at a re-list) and a compact record made from
 * the pod as it arrives, or nothing. A fabric8 Pod, even trimmed, costs kilobytes of maps and lists; with one
 * informer of our worker pods and one of every pod for capacity, that was most of the sidecar's heap.
 *
 * <p>What the store hands back to fabric8 is a skeleton: namespace, name and resourceVersion. The informer passes
 * stored objects to its handlers only as the "old" pod of an update and as a pod found gone at a re-list, so the
 * handlers must read nothing but the name from a deletion. The store says it is not a full state, so fabric8 hands
 * every add of the first list to the handlers as the whole pod (a full-state store would have the adds of the first
 * list re-read from the store after the sync).
 *
 * @param <R> the compact record kept per pod ({@link Void} for none)
 */
final class CompactPodStore<R> implements ItemStore<Pod> {

    private record Kept<R>(String namespace, String name, String resourceVersion, R record) {
    }

    private final Map<String, Kept<R>> items = new ConcurrentHashMap<>();
    private final Function<Pod, R> compact;

    private CompactPodStore(Function<Pod, R> compact) {
        this.compact = compact;
    }

    /** Keeps {@code compact(pod)} per pod, made once as the pod arrives; see {@link #records()}. */
    static <R> CompactPodStore<R> keeping(Function<Pod, R> compact) {
        return new CompactPodStore<>(compact);
    }

    /** Keeps only names and resourceVersions: for an informer whose handlers keep what they need themselves. */
    static CompactPodStore<Void> namesOnly() {
        return new CompactPodStore<>(pod -> null);
    }

    /**
     * The record kept for this very version of the pod (same key and resourceVersion), or null: lets the informer's
     * handler reuse what the store made of the pod instead of translating it a second time.
     */
    R recordOf(Pod pod) {
        ObjectMeta m = pod.getMetadata();
        Kept<R> kept = m == null ? null : items.get(getKey(pod));
        return kept != null && kept.resourceVersion() != null && kept.resourceVersion().equals(m.getResourceVersion())
                ? kept.record() : null;
    }

    /** The compact records of the pods in the store now. */
    Stream<R> records() {
        return items.values().stream().map(Kept::record);
    }

    @Override
    public String getKey(Pod pod) {
        return Cache.metaNamespaceKeyFunc(pod);
    }

    @Override
    public Pod put(String key, Pod pod) {
        ObjectMeta m = pod.getMetadata();
        return skeleton(items.put(key, new Kept<>(m.getNamespace(), m.getName(), m.getResourceVersion(), compact.apply(pod))));
    }

    @Override
    public Pod remove(String key) {
        return skeleton(items.remove(key));
    }

    @Override
    public Stream<String> keySet() {
        return items.keySet().stream();
    }

    @Override
    public Stream<Pod> values() {
        return items.values().stream().map(CompactPodStore::skeleton);
    }

    @Override
    public int size() {
        return items.size();
    }

    @Override
    public Pod get(String key) {
        return skeleton(items.get(key));
    }

    @Override
    public boolean isFullState() {
        return false;
    }

    private static Pod skeleton(Kept<?> kept) {
        if (kept == null) {
            return null;
        }
        Pod pod = new Pod();
        ObjectMeta m = new ObjectMeta();
        m.setNamespace(kept.namespace());
        m.setName(kept.name());
        m.setResourceVersion(kept.resourceVersion());
        pod.setMetadata(m);
        return pod;
    }
}
