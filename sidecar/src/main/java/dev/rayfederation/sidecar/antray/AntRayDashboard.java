package dev.rayfederation.sidecar.antray;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sidecar.json.Json;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * ant-ray's virtual-cluster REST API on the Ray head's dashboard ({@code /virtual_clusters}), as ant-ray 2.44
 * serves it. A virtual cluster is asked for by replica sets: how many nodes of each template (Ray node type) it
 * should hold; ant-ray moves idle nodes of the primary cluster in and out and answers with the nodes it holds.
 * Every update carries the revision it builds on; a stale one is refused with the latest revision in the message.
 * Blocking calls (the sync runs them on its own thread).
 */
public final class AntRayDashboard {

    /** "... revision (3) is expired, the latest revision of the virtual cluster team-a is 5". */
    private static final Pattern EXPIRED = Pattern.compile("revision \\(-?\\d+\\) is expired.*latest revision of the virtual cluster \\S+ is (-?\\d+)");
    /**
     * The refusal when too few idle nodes can move: "No enough nodes to add to the virtual cluster" (the primary
     * cluster has too few idle nodes of a template) or "... to remove from ..." (the virtual cluster's nodes are
     * busy). {@code replicaSetsToRecommend} then says how many nodes of each template it can add, or remove, at most.
     */
    private static final Pattern NOT_ENOUGH = Pattern.compile("No enough nodes(?: to (add|remove))?", Pattern.CASE_INSENSITIVE);

    private final URI base;
    private final Duration timeout;
    private final HttpClient http;

    public AntRayDashboard(URI base, Duration timeout) {
        this.base = base;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** Creates the virtual cluster or sets its replica sets, building on {@code revision} (0 for a new one). */
    public Answer createOrUpdate(String id, boolean divisible, Map<String, Integer> replicaSets, long revision) throws Unreachable {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("virtualClusterId", id);
        body.put("divisible", divisible);
        body.put("replicaSets", replicaSets);
        body.put("revision", revision);
        JsonNode json = send(HttpRequest.newBuilder(endpoint(""))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.bytes(body))));
        String msg = json.path("msg").asText("");
        JsonNode data = json.path("data");
        Long latest = null;
        Matcher m = EXPIRED.matcher(msg);
        if (m.find()) {
            latest = Long.parseLong(m.group(1));
        }
        Map<String, Integer> recommended = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = data.path("replicaSetsToRecommend").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            recommended.put(e.getKey(), e.getValue().asInt());
        }
        return new Answer(json.path("result").asBoolean(false), msg, data.path("revision").asLong(0),
                templates(data.path("nodeInstances")), latest, recommended);
    }

    /** The virtual cluster as ant-ray lists it, or empty when it does not exist. */
    public Optional<Listed> get(String id) throws Unreachable {
        JsonNode json = send(HttpRequest.newBuilder(endpoint("")).GET());
        for (JsonNode vc : json.path("data").path("virtualClusters")) {
            if (id.equals(vc.path("virtualClusterId").asText())) {
                return Optional.of(new Listed(id, vc.path("revision").asLong(0), templates(vc.path("nodeInstances")),
                        "true".equalsIgnoreCase(vc.path("divisible").asText())));
            }
        }
        return Optional.empty();
    }

    public Answer remove(String id) throws Unreachable {
        JsonNode json = send(HttpRequest.newBuilder(endpoint("/" + URLEncoder.encode(id, StandardCharsets.UTF_8))).DELETE());
        return new Answer(json.path("result").asBoolean(false), json.path("msg").asText(""), 0, Map.of(), null, Map.of());
    }

    private URI endpoint(String suffix) {
        return base.resolve(base.getPath() + "/virtual_clusters" + suffix);
    }

    /** node id → template id of a virtual cluster's {@code nodeInstances}. */
    private static Map<String, String> templates(JsonNode nodeInstances) {
        Map<String, String> out = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = nodeInstances.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            out.put(e.getKey(), e.getValue().path("templateId").asText(""));
        }
        return out;
    }

    /** The dashboard's JSON answer ({@code result}, {@code msg}, {@code data}), whatever its HTTP status. */
    private JsonNode send(HttpRequest.Builder request) throws Unreachable {
        HttpRequest r = request.timeout(timeout).header("Accept", "application/json").build();
        String what = r.method() + " " + r.uri().getPath();
        HttpResponse<byte[]> response;
        try {
            response = http.send(r, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new Unreachable(what + ": " + describe(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unreachable(what + ": interrupted", e);
        }
        JsonNode json;
        try {
            json = Json.MAPPER.readTree(response.body());
        } catch (IOException e) {
            json = null;
        }
        if (json == null || !json.has("result")) {
            throw new Unreachable(what + ": HTTP " + response.statusCode() + " without the dashboard's JSON answer", null);
        }
        return json;
    }

    private static String describe(IOException e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m != null && !m.isBlank() ? " (" + m + ")" : "");
    }

    /**
     * ant-ray's answer to an update.
     *
     * @param nodeTemplates node id → template of the nodes it holds now
     * @param expiredLatest the latest revision, when the update was refused as built on an expired one
     * @param recommended   when it refused for lack of idle nodes: how many nodes of each template it can add (or
     *                      remove) at most
     */
    public record Answer(boolean ok, String message, long revision, Map<String, String> nodeTemplates, Long expiredLatest,
                         Map<String, Integer> recommended) {

        public boolean notEnoughNodes() {
            return !ok && message != null && NOT_ENOUGH.matcher(message).find();
        }

        /**
         * After a "No enough nodes" refusal of {@code asked}: the replica sets nearest to it that ant-ray said it can
         * reach from {@code held} (what the virtual cluster holds now). Growth is cut to what it can add, or shrinking
         * to what it can remove; a refusal that says neither cuts both.
         */
        public Map<String, Integer> reachable(Map<String, Integer> asked, Map<String, Integer> held) {
            Matcher m = NOT_ENOUGH.matcher(message == null ? "" : message);
            String direction = m.find() && m.group(1) != null ? m.group(1).toLowerCase(Locale.ROOT) : "";
            Map<String, Integer> out = new TreeMap<>();
            for (Map.Entry<String, Integer> e : asked.entrySet()) {
                int want = e.getValue();
                int have = held.getOrDefault(e.getKey(), 0);
                int most = recommended.getOrDefault(e.getKey(), Math.abs(want - have));
                if (want > have && !direction.equals("remove")) {
                    out.put(e.getKey(), have + Math.max(0, Math.min(want - have, most)));
                } else if (want < have && !direction.equals("add")) {
                    out.put(e.getKey(), have - Math.max(0, Math.min(have - want, most)));
                } else {
                    out.put(e.getKey(), want);
                }
            }
            return out;
        }

        public boolean expired() {
            return !ok && message != null && message.contains("is expired");
        }

        /** How many nodes of each template it holds. */
        public Map<String, Integer> nodesByTemplate() {
            Map<String, Integer> out = new TreeMap<>();
            nodeTemplates.values().forEach(t -> out.merge(t, 1, Integer::sum));
            return out;
        }
    }

    public record Listed(String id, long revision, Map<String, String> nodeTemplates, boolean divisible) {
    }

    /** No JSON answer from the dashboard: not reachable, timed out, or something else answered. */
    public static final class Unreachable extends IOException {
        private static final long serialVersionUID = 1L;

        public Unreachable(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
