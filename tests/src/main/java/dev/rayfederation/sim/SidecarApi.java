package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.StringJoiner;

/**
 * A small client of the sidecar's node-provider HTTP API: each call returns the status code, headers and
 * parsed JSON body, never throwing on an HTTP error status. Thread-safe.
 */
public final class SidecarApi {

    /** One shared mapper for request and response bodies. */
    public static final ObjectMapper JSON = new ObjectMapper();

    private final URI base;
    private final String token;
    private final HttpClient http;

    /**
     * @param base  e.g. {@code http://127.0.0.1:8765}
     * @param token bearer token, or null for none
     */
    public SidecarApi(URI base, String token) {
        this.base = base;
        this.token = token;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    /**
     * One answer.
     *
     * @param body parsed JSON ({@link MissingNode} when the body is empty or not JSON)
     * @param raw  the body as text
     */
    public record Response(String method, String path, int status, HttpHeaders headers, JsonNode body, String raw) {

        public Optional<String> header(String name) {
            return headers.firstValue(name);
        }

        public String etag() {
            return header("ETag").orElse(null);
        }

        /** {@code METHOD path -> status body} for failure messages. */
        @Override
        public String toString() {
            return method + " " + path + " -> " + status + " " + (raw.length() > 2000 ? raw.substring(0, 2000) + "..." : raw);
        }
    }

    public URI base() {
        return base;
    }

    /** GET /v1/nodes. */
    public Response getNodes() {
        return get("/v1/nodes", Map.of());
    }

    /** GET /v1/nodes with {@code If-None-Match} (null: without). */
    public Response getNodes(String ifNoneMatch) {
        return get("/v1/nodes", ifNoneMatch == null ? Map.of() : Map.of("If-None-Match", ifNoneMatch));
    }

    /** GET /v1/nodes?tag.k=v... */
    public Response getNodesTagged(Map<String, String> tagFilters) {
        StringJoiner q = new StringJoiner("&", "?", "");
        tagFilters.forEach((k, v) -> q.add(enc("tag." + k) + "=" + enc(v)));
        return get("/v1/nodes" + (tagFilters.isEmpty() ? "" : q), Map.of());
    }

    /** POST /v1/nodes with nodeType, count, requestId and tags. */
    public Response createNodes(String nodeType, int count, String requestId, Map<String, String> tags) {
        ObjectNode body = JSON.createObjectNode();
        body.put("nodeType", nodeType);
        body.put("count", count);
        body.put("requestId", requestId);
        body.set("tags", JSON.valueToTree(tags));
        return createNodes(body);
    }

    /** POST /v1/nodes with any body. */
    public Response createNodes(ObjectNode body) {
        return post("/v1/nodes", body);
    }

    /** POST /v1/nodes:terminate. */
    public Response terminate(Collection<String> ids) {
        return post("/v1/nodes:terminate", Map.of("ids", List.copyOf(ids)));
    }

    /** PUT /v1/nodes/{id}/tags. */
    public Response setTags(String id, Map<String, String> tags) {
        return send("PUT", "/v1/nodes/" + enc(id) + "/tags", Map.of("tags", tags), Map.of());
    }

    public Response clusters() {
        return get("/v1/clusters", Map.of());
    }

    public Response pools() {
        return get("/v1/pools", Map.of());
    }

    public Response nodeTypes() {
        return get("/v1/node-types", Map.of());
    }

    public Response get(String path, Map<String, String> headers) {
        return send("GET", path, null, headers);
    }

    public Response post(String path, Object body) {
        return send("POST", path, body, Map.of());
    }

    /** Any call; {@code body} is serialized as JSON unless it is a String (sent as is) or null. */
    public Response send(String method, String path, Object body, Map<String, String> headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30));
        Map<String, String> all = new LinkedHashMap<>(headers);
        if (token != null) {
            all.putIfAbsent("Authorization", "Bearer " + token);
        }
        all.forEach(b::header);
        if (body == null) {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            b.header("Content-Type", "application/json");
            b.method(method, HttpRequest.BodyPublishers.ofString(body instanceof String s ? s : write(body)));
        }
        try {
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Response(method, path, r.statusCode(), r.headers(), parse(r.body()), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + base.resolve(path) + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted during " + method + " " + path, e);
        }
    }

    private static String write(Object body) {
        try {
            return JSON.writeValueAsString(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JsonNode parse(String text) {
        if (text == null || text.isBlank()) {
            return MissingNode.getInstance();
        }
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            return MissingNode.getInstance();
        }
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** The tags Ray's autoscaler sends with a create call for a worker of {@code nodeType}. */
    public static Map<String, String> rayTags(String nodeType) {
        Map<String, String> tags = new LinkedHashMap<>();
        tags.put("ray-node-type", "worker");
        tags.put("ray-user-node-type", nodeType);
        tags.put("ray-node-status", "uninitialized");
        tags.put("ray-launch-config", "launch-hash-1");
        return tags;
    }

    /** The ids in the {@code created} list of a POST /v1/nodes answer. */
    public static List<String> created(Response r) {
        List<String> ids = new java.util.ArrayList<>();
        r.body().path("created").forEach(n -> ids.add(n.asText()));
        return ids;
    }
}
