package dev.rayfederation.sidecar.api;

import dev.rayfederation.k8s.resilience.BreakerStatus;
import dev.rayfederation.k8s.capacity.CapacityView;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.federation.FederationState;
import dev.rayfederation.sidecar.placement.CapacityBackoff;
import dev.rayfederation.sidecar.registry.NodeRecord;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** GET /v1/clusters: each member's state, breaker, capacity, nodes and back-offs. */
final class ClustersView {

    private ClustersView() {
    }

    static Map<String, Object> of(FederationState state) {
        Map<String, Integer> nodes = new TreeMap<>();
        for (NodeRecord n : state.snapshot().nodes()) {
            nodes.merge(n.member(), 1, Integer::sum);
        }
        List<CapacityBackoff.Entry> backoffs = state.backoffs();
        List<Object> out = new ArrayList<>();
        for (FederationConfig.Cluster c : state.config().clusters()) {
            out.add(member(c, state.members().get(c.name()), nodes.getOrDefault(c.name(), 0), backoffs));
        }
        return Map.of("clusters", out);
    }

    private static Map<String, Object> member(FederationConfig.Cluster c, MemberCluster m, int nodes,
                                              List<CapacityBackoff.Entry> backoffs) {
        CapacityView cap = m.capacity();
        BreakerStatus breaker = m.breaker();
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("name", c.name());
        v.put("cloud", c.cloud());
        v.put("region", c.region());
        v.put("zone", c.zone());
        v.put("state", m.state().wire());
        v.put("stateReason", m.stateReason());
        v.put("stateSince", m.stateSince() == null ? null : m.stateSince().toString());
        v.put("breaker", breaker.state().wire());
        v.put("breakerScope", breaker.scope());
        v.put("breakerSince", breaker.since().toString());
        v.put("breakerReason", breaker.reason());
        v.put("heldOutUntil", m.heldOutUntil() == null ? null : m.heldOutUntil().toString());
        v.put("flaps", m.flaps());
        v.put("capacity", cap.known() ? cap.capacity().toQuantities() : null);
        v.put("allocated", cap.known() ? cap.allocated().toQuantities() : null);
        v.put("nodes", nodes);
        v.put("cordoned", false);
        v.put("kubeNodes", cap.nodeCount());
        v.put("cordonedKubeNodes", cap.cordonedNodeCount());
        v.put("priority", c.priority());
        v.put("elastic", c.elastic());
        List<Object> mine = new ArrayList<>();
        for (CapacityBackoff.Entry e : backoffs) {
            if (e.member().equals(c.name())) {
                Map<String, Object> b = new LinkedHashMap<>();
                b.put("pool", e.pool());
                b.put("until", e.until().toString());
                b.put("pauseSeconds", e.pause().toSeconds());
                b.put("failures", e.failures());
                b.put("reason", e.reason());
                mine.add(b);
            }
        }
        v.put("backoffs", mine);
        return v;
    }
}
