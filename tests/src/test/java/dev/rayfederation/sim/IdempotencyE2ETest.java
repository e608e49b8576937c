package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sim.SidecarConfig.Pool;
import dev.rayfederation.sim.SidecarConfig.VirtualCluster;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** requestId makes POST /v1/nodes idempotent; If-None-Match makes GET /v1/nodes cheap. */
class IdempotencyE2ETest extends SidecarE2E {

    @BeforeEach
    void startFederation() {
        start(members(1, 2, 16), c -> c
                .withVirtualCluster(VirtualCluster.of("vc"))
                .withPool(Pool.of("cpu", "vc", Map.of("CPU", 2, "memory", "4Gi"))));
    }

    @Test
    @DisplayName("a replayed requestId returns the first answer with 200 and creates no pod")
    void replaysTheFirstAnswerForARepeatedRequestId() {
        SidecarApi.Response first = create("cpu", 2, "req-1");
        awaitUpToDate("cpu", 2);

        SidecarApi.Response replay = api().createNodes("cpu", 2, "req-1", rayTags("cpu"));

        assertThat(replay.status()).as("status of %s", replay).isEqualTo(200);
        assertThat(replay.body()).as("replayed body").isEqualTo(first.body());
        assertThat(federation.workerPodCounts("cpu")).isEqualTo(Map.of("m1", 2));
        assertThat(nodesOf("cpu")).hasSize(2);
    }

    @Test
    @DisplayName("the same requestId with a different body is a 409 conflict and creates nothing")
    void rejectsAReusedRequestIdWithADifferentBody() {
        create("cpu", 2, "req-2");
        awaitUpToDate("cpu", 2);

        SidecarApi.Response moreWorkers = api().createNodes("cpu", 3, "req-2", rayTags("cpu"));
        Map<String, String> otherTags = rayTags("cpu");
        otherTags.put("ray-launch-config", "another-hash");
        SidecarApi.Response otherTagsAnswer = api().createNodes("cpu", 2, "req-2", otherTags);

        for (SidecarApi.Response r : new SidecarApi.Response[] {moreWorkers, otherTagsAnswer}) {
            assertThat(r.status()).as("status of %s", r).isEqualTo(409);
            JsonNode error = r.body().path("error");
            assertThat(error.path("code").asText()).as("error.code in %s", r).isNotBlank();
            assertThat(error.path("message").asText()).as("error.message in %s", r).isNotBlank();
        }
        assertThat(federation.workerPodCounts("cpu")).isEqualTo(Map.of("m1", 2));
        assertThat(nodesOf("cpu")).hasSize(2);
    }

    @Test
    @DisplayName("GET /v1/nodes answers 304 to an unchanged ETag and 200 with a new ETag after a change")
    void honoursIfNoneMatch() {
        SidecarApi.Response first = api().getNodes();
        assertThat(first.status()).isEqualTo(200);
        String etag = first.etag();
        assertThat(etag).as("ETag of %s", first).isNotBlank();

        SidecarApi.Response unchanged = api().getNodes(etag);
        assertThat(unchanged.status()).as("status of %s", unchanged).isEqualTo(304);
        assertThat(unchanged.raw()).isEmpty();

        create("cpu", 1, "req-etag");
        awaitUpToDate("cpu", 1);
        SidecarApi.Response changed = api().getNodes(etag);
        assertThat(changed.status()).as("status of %s", changed).isEqualTo(200);
        assertThat(changed.etag()).as("new ETag").isNotBlank().isNotEqualTo(etag);
        assertThat(changed.body().path("nodes")).hasSize(1);

        SidecarApi.Response again = api().getNodes(changed.etag());
        assertThat(again.status()).as("status of %s with the new ETag", again).isEqualTo(304);
    }
}
