package dev.rayfederation.k8s.member;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class CompactPodStoreTest {

    private static Pod worker(String resourceVersion) {
        return new PodBuilder(WorkerPodsTest.rendered()).editMetadata().withNamespace("ray")
                .withResourceVersion(resourceVersion).endMetadata().build();
    }

    @Test
    void keepsTheRecordMadeOnArrivalAndHandsBackOnlyNameAndVersion() {
        CompactPodStore<WorkerPod> store = CompactPodStore.keeping(p -> WorkerPods.from("aws", p, null));
        Pod pod = worker("7");
        String key = store.getKey(pod);

        assertThat(store.put(key, pod)).as("nothing was there").isNull();
        Pod old = store.put(key, worker("8"));

        assertThat(key).isEqualTo("ray/demo-cpu-n-7");
        assertThat(old.getMetadata().getResourceVersion()).isEqualTo("7");
        assertThat(store.get(key).getMetadata().getResourceVersion()).isEqualTo("8");
        assertThat(store.get(key).getMetadata().getName()).isEqualTo("demo-cpu-n-7");
        assertThat(store.get(key).getSpec()).as("no copy of the pod is kept").isNull();
        assertThat(store.records().toList()).containsExactly(WorkerPods.from("aws", worker("8"), null));
        assertThat(store.keySet().toList()).containsExactly(key);
        assertThat(store.values().toList()).hasSize(1);
        assertThat(store.isFullState()).as("adds of the first list reach the handlers whole").isFalse();

        assertThat(store.remove(key).getMetadata().getName()).isEqualTo("demo-cpu-n-7");
        assertThat(store.size()).isZero();
        assertThat(store.get(key)).isNull();
    }

    @Test
    void aWorkerFoundGoneAtAReListIsReportedWithItsNodeId() {
        WorkerPodCache cache = new WorkerPodCache("aws", null);
        List<WorkerPod> deleted = new ArrayList<>();
        cache.addListener(Fabric8MemberClusterTest.listener(new ArrayList<>(), deleted));
        CompactPodStore<Void> store = CompactPodStore.namesOnly();
        Pod pod = worker("7");
        store.put(store.getKey(pod), pod);
        var events = cache.events(p -> null); // nothing kept by a names-only store: translated on arrival
        events.onAdd(pod);

        events.onDelete(store.remove(store.getKey(pod)), true);

        assertThat(deleted).extracting(WorkerPod::nodeId).containsExactly("n-7");
        assertThat(cache.all()).isEmpty();
    }

    @Test
    void theCacheHoldsTheRecordTheStoreMadeNotASecondCopy() {
        WorkerPodCache cache = new WorkerPodCache("aws", null);
        CompactPodStore<WorkerPod> store = CompactPodStore.keeping(cache::translate);
        var events = cache.events(store::recordOf);
        Pod pod = worker("7");
        store.put(store.getKey(pod), pod);

        events.onAdd(pod);

        WorkerPod held = cache.get("demo-cpu-n-7").orElseThrow();
        assertThat(held).as("one record per worker").isSameAs(store.records().findFirst().orElseThrow());

        // the store has moved on to version 8 by the time the handler sees version 7 again: translated anew
        store.put(store.getKey(pod), worker("8"));
        events.onUpdate(pod, pod);
        assertThat(cache.get("demo-cpu-n-7").orElseThrow()).isNotSameAs(store.records().findFirst().orElseThrow())
                .isEqualTo(WorkerPods.from("aws", pod, null));
        assertThat(store.recordOf(worker("9"))).as("a version the store never held").isNull();
    }
}
