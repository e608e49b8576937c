package dev.rayfederation.sidecar.api;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.rayfederation.k8s.CapacityView;
import dev.rayfederation.k8s.MemberCluster;
import dev.rayfederation.k8s.ResourceVector;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;
import dev.rayfederation.sidecar.provision.NodeProvisioner;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import dev.rayfederation.sidecar.registry.RayTags;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

/** The JSON documents of the node-provider API (DESIGN §4), built from the registry and the members. */
public final class Views {

    private Views() {
    }

    /** {"revision", "nodes": [Node]} streamed straight to bytes: this is the hot read path. */
    public static byte[] nodes(NodeRegistry.Snapshot snapshot, String revision, Predicate<NodeRecord> filter) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 + snapshot.nodes().size() * 512);
        try (JsonGenerator g = Json.MAPPER.getFactory().createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("revision", revision);
            g.writeArrayFieldStart("nodes");
            for (NodeRecord n : snapshot.nodes()) {
                if (filter.test(n)) {
                    writeNode(g, n, snapshot.stale(n));
                }
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    public static Map<String, Object> node(NodeRecord n, boolean stale) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", n.id());
        m.put("kind", n.tags().getOrDefault(RayTags.NODE_KIND, "worker"));
        m.put("nodeType", n.nodeType());
        m.put("status", n.status());
        m.put("internalIp", n.internalIp());
        m.put("externalIp", n.externalIp());
        m.put("tags", new TreeMap<>(n.tags()));
        m.put("cluster", n.member());
        m.put("pool", n.pool());
        m.put("virtualCluster", n.virtualCluster());
        m.put("stale", stale);
        m.put("reason", n.reason());
        return m;
    }

    private static void writeNode(JsonGenerator g, NodeRecord n, boolean stale) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", n.id());
        g.writeStringField("kind", n.tags().getOrDefault(RayTags.NODE_KIND, "worker"));
        g.writeStringField("nodeType", n.nodeType());
        g.writeStringField("status", n.status());
        g.writeStringField("internalIp", n.internalIp());
        g.writeStringField("externalIp", n.externalIp());
        g.writeObjectFieldStart("tags");
        for (Map.Entry<String, String> t : new TreeMap<>(n.tags()).entrySet()) {
            g.writeStringField(t.getKey(), t.getValue());
        }
        g.writeEndObject();
        g.writeStringField("cluster", n.member());
        g.writeStringField("pool", n.pool());
        g.writeStringField("virtualCluster", n.virtualCluster());
        g.writeBooleanField("stale", stale);
        g.writeStringField("reason", n.reason());
        g.writeEndObject();
    }

    /** GET /v1/node-types: ready to paste into Ray's available_node_types. */
    public static Map<String, Object> nodeTypes(FederationConfig config) {
        Map<String, Object> types = new TreeMap<>();
        for (Pool p : config.pools()) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("resources", rayResources(p));
            t.put("labels", rayLabels(p));
            t.put("min_workers", p.minWorkers());
            t.put("max_workers", p.maxWorkers());
            t.put("node_config", Map.of());
            types.put(p.rayNodeType(), t);
        }
        return Map.of("availableNodeTypes", types);
    }

    /** What a worker of the pool advertises to Ray: CPU, GPU, memory (bytes) and the extra Ray resources. */
    public static Map<String, Number> rayResources(Pool p) {
        // the same mapping as the worker's ray start flags: CPU rounded up, memory in bytes, custom as given
        return dev.rayfederation.k8s.render.RayNodeResources
                .ofPool(p.resources(), p.rayResources(), p.labels(), p.virtualCluster()).resources();
    }

    public static Map<String, String> rayLabels(Pool p) {
        // the worker's labels without ray-federation.io/member, which is only known once it is placed
        return new TreeMap<>(dev.rayfederation.k8s.render.RayNodeResources
                .ofPool(p.resources(), p.rayResources(), p.labels(), p.virtualCluster()).labels());
    }

    /** GET /v1/clusters. */
    public static Map<String, Object> clusters(NodeProvisioner provisioner) {
        FederationConfig config = provisioner.config();
        Map<String, Integer> nodes = new TreeMap<>();
        for (NodeRecord n : provisioner.registry().snapshot().nodes()) {
            nodes.merge(n.member(), 1, Integer::sum);
        }
        var activeBackoffs = provisioner.backoff().activeEntries();
        List<Object> out = new ArrayList<>();
        for (FederationConfig.Cluster c : config.clusters()) {
            MemberCluster m = provisioner.members().get(c.name());
            CapacityView cap = m.capacity();
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("name", c.name());
            v.put("cloud", c.cloud());
            v.put("region", c.region());
            v.put("zone", c.zone());
            v.put("state", m.state().wire());
            v.put("stateReason", m.stateReason());
            v.put("stateSince", m.stateSince() == null ? null : m.stateSince().toString());
            var breaker = m.breaker();
            v.put("breaker", breaker.state().wire());
            v.put("breakerScope", breaker.scope());
            v.put("breakerSince", breaker.since().toString());
            v.put("breakerReason", breaker.reason());
            v.put("capacity", cap.known() ? cap.capacity().toQuantities() : null);
            v.put("allocated", cap.known() ? cap.allocated().toQuantities() : null);
            v.put("nodes", nodes.getOrDefault(c.name(), 0));
            v.put("cordoned", false);
            v.put("kubeNodes", cap.nodeCount());
            v.put("cordonedKubeNodes", cap.cordonedNodeCount());
            v.put("priority", c.priority());
            v.put("elastic", c.elastic());
            List<Object> backoffs = new ArrayList<>();
            for (var e : activeBackoffs) {
                if (e.member().equals(c.name())) {
                    Map<String, Object> b = new LinkedHashMap<>();
                    b.put("pool", e.pool());
                    b.put("until", e.until().toString());
                    b.put("pauseSeconds", e.pause().toSeconds());
                    b.put("failures", e.failures());
                    b.put("reason", e.reason());
                    backoffs.add(b);
                }
            }
            v.put("backoffs", backoffs);
            out.add(v);
        }
        return Map.of("clusters", out);
    }

    /** GET /v1/pools. */
    public static Map<String, Object> pools(NodeProvisioner provisioner) {
        FederationConfig config = provisioner.config();
        NodeRegistry.Snapshot snap = provisioner.registry().snapshot();
        List<Object> pools = new ArrayList<>();
        for (Pool p : config.pools()) {
            int total = 0;
            int pending = 0;
            Map<String, Integer> byCluster = new TreeMap<>();
            for (NodeRecord n : snap.nodes()) {
                if (n.pool().equals(p.name())) {
                    total++;
                    if (!RayTags.STATUS_UP_TO_DATE.equals(n.status())) {
                        pending++;
                    }
                    byCluster.merge(n.member(), 1, Integer::sum);
                }
            }
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("name", p.name());
            v.put("virtualCluster", p.virtualCluster());
            v.put("rayNodeType", p.rayNodeType());
            v.put("nodes", total);
            v.put("pending", pending);
            v.put("minWorkers", p.minWorkers());
            v.put("maxWorkers", p.maxWorkers());
            v.put("strategy", p.strategy().wire());
            v.put("resources", p.resources().toQuantities());
            v.put("byCluster", byCluster);
            pools.add(v);
        }
        List<Object> vcs = new ArrayList<>();
        for (FederationConfig.VirtualCluster vc : config.virtualClusters()) {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("name", vc.name());
            v.put("quota", vc.quota().isEmpty() ? null : vc.quota().toQuantities());
            ResourceVector used = provisioner.registry().usage(vc.name());
            v.put("used", used.toQuantities());
            vcs.add(v);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("pools", pools);
        out.put("virtualClusters", vcs);
        return out;
    }
}
