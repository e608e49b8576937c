package dev.rayfederation.sidecar.antray;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.extension.ResponseDefinitionTransformerV2;
import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.http.ResponseDefinition;
import com.github.tomakehurst.wiremock.stubbing.ServeEvent;
import com.github.tomakehurst.wiremock.stubbing.StubMapping;
import dev.rayfederation.sidecar.json.Json;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;

/**
 * ant-ray 2.44's dashboard as far as its virtual-cluster REST API goes, played by WireMock: the answers, status codes
 * and messages are the ones the real dashboard gives (measured), over a small model of the cluster. Nodes join the
 * primary cluster idle ({@link #joinIdle}); an update moves idle nodes in and out by template and is refused, as
 * ant-ray refuses it, when its revision is not the latest, when {@code divisible} changes, or when too few idle
 * nodes can move ({@code replicaSetsToRecommend}: how many it can add, or remove, at most).
 * {@link #goAway()} makes every call fail at the connection, as a stopped dashboard would.
 */
final class FakeAntRayDashboard implements ResponseDefinitionTransformerV2, AutoCloseable {

    private static final String NAME = "fake-ant-ray-dashboard";

    private final WireMockServer server;
    private final Map<String, Vc> vcs = new LinkedHashMap<>();
    private final Map<String, Deque<String>> idle = new TreeMap<>();
    private final Set<String> busy = new HashSet<>();
    private final List<Map<String, Object>> posts = new ArrayList<>();
    private long revisions = 1_796_455_958_307_887_296L; // ant-ray's revisions are nanosecond timestamps
    private int lists;
    private StubMapping away;

    private static final class Vc {
        boolean divisible;
        long revision;
        final Map<String, String> nodes = new TreeMap<>();
    }

    FakeAntRayDashboard() {
        server = new WireMockServer(options().dynamicPort().extensions(this));
        server.start();
        server.stubFor(any(urlPathMatching("/virtual_clusters.*")).willReturn(aResponse().withTransformers(NAME)));
    }

    URI url() {
        return URI.create(server.baseUrl());
    }

    @Override
    public String getName() {
        return NAME;
    }

    @Override
    public boolean applyGlobally() {
        return false;
    }

    @Override
    public void close() {
        server.stop();
    }

    // ------------------------------------------------------------------ the model, as tests set it up

    /** A node of {@code template} joins the primary cluster, idle. */
    synchronized void joinIdle(String nodeId, String template) {
        idle.computeIfAbsent(template, t -> new ArrayDeque<>()).add(nodeId);
    }

    /** A node (in a virtual cluster) runs a task: ant-ray will not move it out. */
    synchronized void markBusy(String nodeId) {
        busy.add(nodeId);
    }

    /** A virtual cluster someone created before (another sidecar, the CLI). */
    synchronized void existing(String id, boolean divisible) {
        Vc vc = new Vc();
        vc.divisible = divisible;
        vc.revision = ++revisions;
        vcs.put(id, vc);
    }

    /** The virtual cluster is removed behind the sidecar's back (ant-ray restarted, or an operator removed it). */
    synchronized void forget(String id) {
        Vc vc = vcs.remove(id);
        if (vc != null) {
            vc.nodes.forEach((node, template) -> joinIdle(node, template));
        }
    }

    synchronized long revision(String id) {
        return vcs.get(id).revision;
    }

    /** Node id → template of what the virtual cluster holds (empty when it does not exist). */
    synchronized Map<String, String> nodes(String id) {
        Vc vc = vcs.get(id);
        return vc == null ? Map.of() : Map.copyOf(vc.nodes);
    }

    synchronized boolean exists(String id) {
        return vcs.containsKey(id);
    }

    /** Every POST body so far, in order. */
    synchronized List<Map<String, Object>> posts() {
        return List.copyOf(posts);
    }

    /** The replica sets of every POST for {@code id}, in order. */
    synchronized List<Map<String, Object>> askedReplicaSets(String id) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Map<String, Object> p : posts) {
            if (id.equals(p.get("virtualClusterId"))) {
                @SuppressWarnings("unchecked")
                Map<String, Object> sets = (Map<String, Object>) p.get("replicaSets");
                out.add(sets);
            }
        }
        return out;
    }

    /** How often the (cached, in the real dashboard) list was read. */
    synchronized int lists() {
        return lists;
    }

    /** Requests reaching the dashboard at all (also the ones refused at the connection while it is away). */
    int requestCount() {
        return server.getAllServeEvents().size();
    }

    synchronized void goAway() {
        if (away == null) {
            away = server.stubFor(any(anyUrl()).atPriority(1).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
        }
    }

    synchronized void comeBack() {
        if (away != null) {
            server.removeStub(away);
            away = null;
        }
    }

    // ------------------------------------------------------------------ the dashboard

    @Override
    public synchronized ResponseDefinition transform(ServeEvent event) {
        String method = event.getRequest().getMethod().value();
        String path = event.getRequest().getUrl().replaceFirst("\\?.*", "");
        if (method.equals("GET") && path.equals("/virtual_clusters")) {
            lists++;
            return list();
        }
        if (method.equals("POST") && path.equals("/virtual_clusters")) {
            return createOrUpdate(event.getRequest().getBodyAsString());
        }
        if (method.equals("DELETE") && path.startsWith("/virtual_clusters/")) {
            String id = path.substring("/virtual_clusters/".length());
            if (!vcs.containsKey(id)) {
                return answer(false, "Failed to remove virtual cluster " + id + ": The logical cluster " + id + " does not exist.",
                        Map.of("virtualClusterId", id));
            }
            forget(id);
            return answer(true, "Virtual cluster " + id + " removed.", Map.of("virtualClusterId", id));
        }
        return new ResponseDefinitionBuilder().withStatus(404).withBody("404: Not Found").build();
    }

    private ResponseDefinition list() {
        List<Map<String, Object>> out = new ArrayList<>();
        vcs.forEach((id, vc) -> {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("virtualClusterId", id);
            v.put("divisible", String.valueOf(vc.divisible));
            v.put("revision", vc.revision);
            v.put("nodeInstances", instances(vc));
            out.add(v);
        });
        return answer(true, "All virtual clusters fetched.", Map.of("virtualClusters", out));
    }

    private ResponseDefinition createOrUpdate(String body) {
        Map<String, Object> request = parse(body);
        posts.add(request);
        JsonNode json = Json.MAPPER.valueToTree(request);
        String id = json.path("virtualClusterId").asText();
        boolean divisible = json.path("divisible").asBoolean(false);
        long revision = json.path("revision").asLong(0);
        Map<String, Integer> wanted = new TreeMap<>();
        json.path("replicaSets").properties().forEach(e -> wanted.put(e.getKey(), e.getValue().asInt()));
        String failed = "Failed to create or update virtual cluster " + id + ": ";

        Vc vc = vcs.get(id);
        if (vc != null && revision != vc.revision) {
            return refused(id, failed + "The revision (" + revision + ") is expired, the latest revision of the virtual cluster "
                    + id + " is " + vc.revision, Map.of());
        }
        if (vc != null && vc.divisible != divisible) {
            return refused(id, failed + "The requested attributes are incompatible with virtual cluster " + id + ". expect: ("
                    + (vc.divisible ? 1 : 0) + "), actual: (" + (divisible ? 1 : 0) + ").", Map.of());
        }
        Map<String, Integer> held = new TreeMap<>();
        if (vc != null) {
            vc.nodes.values().forEach(t -> held.merge(t, 1, Integer::sum));
        }
        Map<String, Integer> canAdd = new TreeMap<>();
        Map<String, Integer> canRemove = new TreeMap<>();
        boolean addShort = false;
        boolean removeShort = false;
        for (Map.Entry<String, Integer> e : wanted.entrySet()) {
            int delta = e.getValue() - held.getOrDefault(e.getKey(), 0);
            if (delta > 0) {
                int free = idle.getOrDefault(e.getKey(), new ArrayDeque<>()).size();
                canAdd.put(e.getKey(), Math.min(free, delta));
                addShort |= free < delta;
            } else if (delta < 0) {
                int free = vc == null ? 0 : (int) vc.nodes.entrySet().stream()
                        .filter(n -> n.getValue().equals(e.getKey()) && !busy.contains(n.getKey())).count();
                canRemove.put(e.getKey(), Math.min(free, -delta));
                removeShort |= free < -delta;
            }
        }
        if (addShort) {
            return refused(id, failed + "No enough nodes to add to the virtual cluster. The replica sets that gcs can add at most are "
                    + "shown below. Use it as a suggestion to adjust your request or cluster.", canAdd);
        }
        if (removeShort) {
            return refused(id, failed + "No enough nodes to remove from the virtual cluster. The replica sets that gcs can remove at "
                    + "most are shown below. Use it as a suggestion to adjust your request or cluster.", canRemove);
        }
        if (vc == null) {
            vc = new Vc();
            vc.divisible = divisible;
            vcs.put(id, vc);
        }
        for (Map.Entry<String, Integer> e : wanted.entrySet()) {
            int delta = e.getValue() - held.getOrDefault(e.getKey(), 0);
            for (int i = 0; i < delta; i++) {
                vc.nodes.put(idle.get(e.getKey()).poll(), e.getKey());
            }
            for (int i = 0; i < -delta; i++) {
                String leaving = vc.nodes.entrySet().stream()
                        .filter(n -> n.getValue().equals(e.getKey()) && !busy.contains(n.getKey()))
                        .map(Map.Entry::getKey).findFirst().orElseThrow();
                vc.nodes.remove(leaving);
                joinIdle(leaving, e.getKey());
            }
        }
        vc.revision = ++revisions;
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("virtualClusterId", id);
        data.put("revision", vc.revision);
        data.put("nodeInstances", instances(vc));
        return answer(true, "Virtual cluster created or updated.", data);
    }

    private static Map<String, Object> instances(Vc vc) {
        Map<String, Object> out = new TreeMap<>();
        vc.nodes.forEach((node, template) -> out.put(node, Map.of("hostname", "vm", "templateId", template)));
        return out;
    }

    private static ResponseDefinition refused(String id, String message, Map<String, Integer> recommend) {
        return answer(false, message, Map.of("virtualClusterId", id, "replicaSetsToRecommend", recommend));
    }

    /** The dashboard's answer shape: 200 on success, 500 on failure, always JSON. */
    private static ResponseDefinition answer(boolean ok, String message, Map<String, Object> data) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("result", ok);
        body.put("msg", message);
        body.put("data", data);
        return new ResponseDefinitionBuilder().withStatus(ok ? 200 : 500).withHeader("Content-Type", "application/json")
                .withBody(Json.bytes(body)).build();
    }

    private static Map<String, Object> parse(String body) {
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> m = Json.MAPPER.readValue(body, Map.class);
            return m;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
