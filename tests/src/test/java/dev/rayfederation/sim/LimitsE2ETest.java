package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sim.SidecarConfig.Pool;
import dev.rayfederation.sim.SidecarConfig.VirtualCluster;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/** A pool's maxWorkers and its virtual cluster's quota hold under many concurrent create calls. */
class LimitsE2ETest extends SidecarE2E {

    private static final int CALLS = 50;

    @Test
    @DisplayName("50 concurrent create calls never take a pool past maxWorkers")
    void maxWorkersHoldsUnderConcurrentCalls() throws Exception {
        start(members(2, 2, 16), c -> c
                .withVirtualCluster(VirtualCluster.of("vc"))
                .withPool(Pool.of("capped", "vc", Map.of("CPU", 1, "memory", "1Gi")).withMaxWorkers(7)));

        List<SidecarApi.Response> answers = createConcurrently("capped", "max");

        assertLimit(answers, "capped", 7);
    }

    @Test
    @DisplayName("50 concurrent create calls never take a virtual cluster past its quota")
    void quotaHoldsUnderConcurrentCalls() throws Exception {
        // 2 CPU per worker, quota 10 CPU: 5 workers, while capacity (64 CPU) and maxWorkers (100) allow far more
        start(members(2, 2, 16), c -> c
                .withVirtualCluster(VirtualCluster.of("vc-q").withQuota("CPU", 10))
                .withPool(Pool.of("quota-bound", "vc-q", Map.of("CPU", 2, "memory", "1Gi"))));

        List<SidecarApi.Response> answers = createConcurrently("quota-bound", "quota");

        assertLimit(answers, "quota-bound", 5);
        JsonNode vc = api().pools().body().path("virtualClusters").get(0);
        assertThat(vc.path("name").asText()).isEqualTo("vc-q");
        assertThat(new Quantity(vc.path("used").path("CPU").asText()).getNumericalAmount())
                .as("CPU used by vc-q in %s", vc).isEqualByComparingTo("10");
    }

    /** {@value #CALLS} calls for one worker each, released together, each with its own requestId. */
    private List<SidecarApi.Response> createConcurrently(String pool, String prefix) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(CALLS);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<SidecarApi.Response>> futures = new ArrayList<>();
            for (int i = 0; i < CALLS; i++) {
                String requestId = prefix + "-" + i;
                futures.add(threads.submit(() -> {
                    go.await();
                    return api().createNodes(pool, 1, requestId, rayTags(pool));
                }));
            }
            go.countDown();
            List<SidecarApi.Response> answers = new ArrayList<>();
            for (Future<SidecarApi.Response> f : futures) {
                answers.add(f.get());
            }
            return answers;
        } finally {
            threads.shutdownNow();
        }
    }

    private void assertLimit(List<SidecarApi.Response> answers, String pool, int limit) {
        Set<String> ids = new HashSet<>();
        for (SidecarApi.Response r : answers) {
            assertThat(r.status()).as("status of %s", r).isEqualTo(201);
            List<String> created = created(r);
            int rejected = r.body().path("rejected").path("count").asInt();
            assertThat(created.size() + rejected).as("created + rejected in %s", r).isEqualTo(1);
            if (rejected > 0) {
                assertThat(r.body().path("rejected").path("reason").asText()).as("reason in %s", r).isEqualTo("quota");
            }
            ids.addAll(created);
        }
        assertThat(ids).as("ids created by %d calls", CALLS).hasSize(limit);
        awaitUpToDate(pool, limit);
        Collection<List<Pod>> pods = federation.workerPods(pool).values();
        List<String> podIds = pods.stream().flatMap(List::stream)
                .map(p -> p.getMetadata().getLabels().get(SimulatedFederation.NODE_ID_LABEL)).toList();
        assertThat(podIds).as("node ids of the pods in the members").containsExactlyInAnyOrderElementsOf(ids);
        // one more call after the dust settled is still refused
        SidecarApi.Response late = api().createNodes(pool, 1, "late", rayTags(pool));
        assertThat(created(late)).as("created by %s", late).isEmpty();
        assertThat(federation.workerPods(pool).values().stream().mapToInt(List::size).sum()).isEqualTo(limit);
    }
}
