package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Quantity;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Renders what the sidecar reports (GET /v1/clusters, /v1/nodes, /v1/pools) as readable tables: per member its
 * cloud, state, Kubernetes nodes, allocated/capacity and workers by pool; per pool and virtual cluster their use.
 */
public final class ClusterReport {

    private ClusterReport() {
    }

    /** The three tables, indented. {@code kubeNodes} is the Kubernetes node count per member (from the simulation). */
    public static String render(JsonNode clusters, JsonNode nodes, JsonNode pools, Map<String, Integer> kubeNodes) {
        Map<String, Map<String, int[]>> workers = new TreeMap<>();
        for (JsonNode n : nodes.path("nodes")) {
            int[] counts = workers.computeIfAbsent(n.path("cluster").asText(), k -> new TreeMap<>())
                    .computeIfAbsent(n.path("pool").asText(), k -> new int[2]);
            counts["up-to-date".equals(n.path("status").asText()) ? 0 : 1]++;
        }
        TextTable members = new TextTable("member", "cloud", "state", "k8s nodes", "CPU alloc/cap", "memory alloc/cap",
                "GPU alloc/cap", "workers by pool");
        for (JsonNode c : clusters.path("clusters")) {
            String name = c.path("name").asText();
            members.row(name, c.path("cloud").asText(), c.path("state").asText(), kubeNodes.getOrDefault(name, 0),
                    ratio(c, "CPU"), ratio(c, "memory"), ratio(c, "GPU"),
                    workersText(workers.getOrDefault(name, Map.of())));
        }
        TextTable poolTable = new TextTable("pool", "virtual cluster", "workers", "pending", "maxWorkers", "by member");
        for (JsonNode p : pools.path("pools")) {
            poolTable.row(p.path("name").asText(), p.path("virtualCluster").asText(), p.path("nodes").asText(),
                    p.path("pending").asText(), p.path("maxWorkers").asText(), compact(p.path("byCluster")));
        }
        TextTable vcs = new TextTable("virtual cluster", "quota", "used");
        for (JsonNode v : pools.path("virtualClusters")) {
            vcs.row(v.path("name").asText(), resources(v.path("quota")), resources(v.path("used")));
        }
        return members.render("  ") + "\n" + poolTable.render("  ") + "\n" + vcs.render("  ");
    }

    private static String workersText(Map<String, int[]> byPool) {
        if (byPool.isEmpty()) {
            return "-";
        }
        List<String> parts = new ArrayList<>();
        byPool.forEach((pool, c) -> parts.add(pool + " " + c[0] + (c[1] > 0 ? " (+" + c[1] + " pending)" : "")));
        return String.join(", ", parts);
    }

    private static String ratio(JsonNode cluster, String resource) {
        JsonNode cap = field(cluster.path("capacity"), resource);
        if (cap == null) {
            return "-";
        }
        JsonNode alloc = field(cluster.path("allocated"), resource);
        return amount(alloc, resource, false) + "/" + amount(cap, resource, true);
    }

    /** A resource by its Ray name, or its Kubernetes name (cpu, nvidia.com/gpu). */
    private static JsonNode field(JsonNode map, String resource) {
        if (map == null || !map.isObject()) {
            return null;
        }
        for (String key : List.of(resource, resource.toLowerCase(), "GPU".equals(resource) ? "nvidia.com/gpu" : "")) {
            if (!key.isEmpty() && map.has(key)) {
                return map.get(key);
            }
        }
        return null;
    }

    /** CPU and counts as plain numbers, memory in Gi. */
    static String amount(JsonNode value, String resource, boolean withUnit) {
        if (value == null || value.isNull() || value.isMissingNode()) {
            return "0";
        }
        BigDecimal n;
        try {
            n = value.isNumber() ? value.decimalValue() : new Quantity(value.asText()).getNumericalAmount();
        } catch (RuntimeException e) {
            return value.asText();
        }
        if ("memory".equalsIgnoreCase(resource)) {
            BigDecimal gi = n.divide(BigDecimal.valueOf(1L << 30), 1, RoundingMode.HALF_UP).stripTrailingZeros();
            return gi.toPlainString() + (withUnit ? "Gi" : "");
        }
        return n.setScale(Math.min(3, Math.max(0, n.stripTrailingZeros().scale())), RoundingMode.HALF_UP).toPlainString();
    }

    private static String resources(JsonNode map) {
        if (map == null || !map.isObject() || map.isEmpty()) {
            return "-";
        }
        List<String> parts = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            parts.add(e.getKey() + " " + amount(e.getValue(), e.getKey(), true));
        }
        return String.join(", ", parts);
    }

    private static String compact(JsonNode v) {
        if (v == null || v.isMissingNode() || v.isNull() || (v.isContainerNode() && v.isEmpty())) {
            return "-";
        }
        if (!v.isObject()) {
            return v.toString();
        }
        List<String> parts = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : v.properties()) {
            parts.add(e.getKey() + " " + (e.getValue().isValueNode() ? e.getValue().asText() : e.getValue().toString()));
        }
        return String.join(", ", parts);
    }
}
