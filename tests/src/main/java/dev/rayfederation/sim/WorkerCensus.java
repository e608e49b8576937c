package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Pod;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One count of a pool's workers, taken from both sides: the worker pods in every member (by the node id on their
 * {@code ray-federation.io/node-id} label) and the nodes in the sidecar's GET /v1/nodes. The federation is in a
 * good final state when both sides name the same ids, each id has exactly one pod, in the member the sidecar says,
 * and nothing is stale.
 *
 * @param pods  member → node ids of its pods of the pool (a pod without the label counts as id "(none)")
 * @param nodes node id → {@link Node} as GET /v1/nodes shows it
 */
public record WorkerCensus(Map<String, List<String>> pods, Map<String, Node> nodes) {

    /** A node as GET /v1/nodes shows it. */
    public record Node(String cluster, String status, boolean stale) {
    }

    public WorkerCensus {
        Map<String, List<String>> copy = new LinkedHashMap<>();
        pods.forEach((m, ids) -> copy.put(m, List.copyOf(ids)));
        pods = java.util.Collections.unmodifiableMap(copy);
        nodes = java.util.Collections.unmodifiableMap(new TreeMap<>(nodes));
    }

    /**
     * Counts now. Every member's API server must be up (its pods are listed).
     *
     * @throws IllegalStateException when GET /v1/nodes does not answer 200
     */
    public static WorkerCensus take(SimulatedMembers members, SidecarApi api, String pool) {
        Map<String, List<String>> pods = new LinkedHashMap<>();
        for (SimulatedMember m : members.members()) {
            List<String> ids = new ArrayList<>();
            for (Pod p : m.workerPods()) {
                Map<String, String> labels = p.getMetadata().getLabels();
                if (pool.equals(labels.get(SimulatedFederation.POOL_LABEL))) {
                    ids.add(labels.getOrDefault(SimulatedFederation.NODE_ID_LABEL, "(none)"));
                }
            }
            pods.put(m.name(), ids);
        }
        SidecarApi.Response r = api.getNodes();
        if (r.status() != 200) {
            throw new IllegalStateException("expected 200 from " + r);
        }
        Map<String, Node> nodes = new TreeMap<>();
        for (JsonNode n : r.body().path("nodes")) {
            if (pool.equals(n.path("pool").asText())) {
                nodes.put(n.path("id").asText(), new Node(n.path("cluster").asText(), n.path("status").asText(),
                        n.path("stale").asBoolean()));
            }
        }
        return new WorkerCensus(pods, nodes);
    }

    /** How many pods of the pool all members hold. */
    public int podCount() {
        return pods.values().stream().mapToInt(List::size).sum();
    }

    /** Pods per member, in member order. */
    public Map<String, Integer> podsByMember() {
        Map<String, Integer> out = new LinkedHashMap<>();
        pods.forEach((m, ids) -> out.put(m, ids.size()));
        return out;
    }

    /** Nodes in GET /v1/nodes per member, sorted by member. */
    public Map<String, Integer> nodesByMember() {
        Map<String, Integer> out = new TreeMap<>();
        nodes.values().forEach(n -> out.merge(n.cluster(), 1, Integer::sum));
        return out;
    }

    /** Node ids with more than one pod across all members, with how many. */
    public Map<String, Integer> duplicates() {
        Map<String, Integer> count = new TreeMap<>();
        pods.values().forEach(ids -> ids.forEach(id -> count.merge(id, 1, Integer::sum)));
        count.values().removeIf(k -> k < 2);
        return count;
    }

    /** Pods whose node id GET /v1/nodes does not show (nobody would ever terminate them), as member/id. */
    public Set<String> orphans() {
        Set<String> out = new TreeSet<>();
        pods.forEach((m, ids) -> ids.stream().filter(id -> !nodes.containsKey(id)).forEach(id -> out.add(m + "/" + id)));
        return out;
    }

    /** Nodes of GET /v1/nodes without a pod in the member it names, as member/id. */
    public Set<String> withoutPod() {
        Set<String> out = new TreeSet<>();
        nodes.forEach((id, n) -> {
            if (!pods.getOrDefault(n.cluster(), List.of()).contains(id)) {
                out.add(n.cluster() + "/" + id);
            }
        });
        return out;
    }

    /** Ids of nodes shown stale. */
    public Set<String> stale() {
        Set<String> out = new TreeSet<>();
        nodes.forEach((id, n) -> {
            if (n.stale()) {
                out.add(id);
            }
        });
        return out;
    }

    /** How many nodes have each status other than up-to-date. */
    public Map<String, Integer> notUpToDate() {
        Map<String, Integer> out = new TreeMap<>();
        nodes.values().stream().filter(n -> !"up-to-date".equals(n.status()))
                .forEach(n -> out.merge(n.cluster() + ":" + n.status(), 1, Integer::sum));
        return out;
    }

    /**
     * What is wrong for a final state of exactly {@code expected} workers, all up-to-date: an empty list when
     * nothing is.
     */
    public List<String> problems(int expected) {
        List<String> out = new ArrayList<>();
        if (podCount() != expected) {
            out.add("expected " + expected + " worker pods, found " + podCount() + " " + podsByMember());
        }
        if (nodes.size() != expected) {
            out.add("expected " + expected + " nodes in GET /v1/nodes, found " + nodes.size() + " " + nodesByMember());
        }
        if (!duplicates().isEmpty()) {
            out.add("node ids with more than one pod: " + duplicates());
        }
        if (!orphans().isEmpty()) {
            out.add("orphan pods (their node id is not in GET /v1/nodes): " + orphans());
        }
        if (!withoutPod().isEmpty()) {
            out.add("nodes in GET /v1/nodes without a pod in their member: " + withoutPod());
        }
        if (!stale().isEmpty()) {
            out.add("stale nodes: " + stale());
        }
        if (!notUpToDate().isEmpty()) {
            out.add("nodes not up-to-date: " + notUpToDate());
        }
        return out;
    }

    /** {@code 200 pods (m1 150, m2 50), 200 nodes in GET /v1/nodes, 0 duplicated, 0 orphaned, 0 stale}. */
    public String summary() {
        List<String> parts = new ArrayList<>();
        podsByMember().forEach((m, k) -> parts.add(m + " " + k));
        return podCount() + " pods (" + String.join(", ", parts) + "), " + nodes.size() + " nodes in GET /v1/nodes, "
                + duplicates().size() + " duplicated, " + orphans().size() + " orphaned, " + stale().size() + " stale";
    }
}
