package dev.rayfederation.sim.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sim.SidecarApi;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One {@code POST /v1/nodes} as the autoscaler plugin makes it, repeated with the same requestId while the sidecar
 * answers 503 {@code in_progress}; when it was sent and answered, what was created (and of that, what is pending:
 * its pod not confirmed by the create deadline) and how many were rejected.
 */
record CreateCall(String requestId, int count, long sentNanos, long answeredNanos, int status, List<String> created,
                  List<String> pending, int rejected, String rejectedReason) {

    static CreateCall send(SidecarApi api, String nodeType, String requestId, int count) {
        long sent = System.nanoTime();
        while (true) {
            SidecarApi.Response r;
            try {
                r = api.createNodes(nodeType, count, requestId,
                        Map.of("ray-node-type", "worker", "ray-user-node-type", nodeType));
            } catch (RuntimeException e) {
                return new CreateCall(requestId, count, sent, System.nanoTime(), -1, List.of(), List.of(), count,
                        "io: " + e.getMessage());
            }
            if (r.status() == 503 && "in_progress".equals(r.body().path("error").path("code").asText())) {
                SidecarRun.sleep(50);
                continue;
            }
            long answered = System.nanoTime();
            if (r.status() != 200 && r.status() != 201) {
                return new CreateCall(requestId, count, sent, answered, r.status(), List.of(), List.of(), count,
                        "HTTP " + r.status() + " " + r.body().path("error").path("code").asText());
            }
            JsonNode rejected = r.body().path("rejected");
            return new CreateCall(requestId, count, sent, answered, r.status(), ids(r.body().path("created")),
                    ids(r.body().path("pending")), rejected.path("count").asInt(), rejected.path("reason").asText(null));
        }
    }

    private static List<String> ids(JsonNode array) {
        List<String> ids = new ArrayList<>();
        array.forEach(id -> ids.add(id.asText()));
        return ids;
    }

    boolean complete() {
        return created.size() == count;
    }
}
