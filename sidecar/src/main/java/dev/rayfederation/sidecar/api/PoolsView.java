package dev.rayfederation.sidecar.api;

import dev.rayfederation.sidecar.antray.AntRaySync;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;
import dev.rayfederation.sidecar.federation.FederationState;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import dev.rayfederation.sidecar.registry.RayTags;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** GET /v1/pools: each pool's nodes (pending, by member) and each virtual cluster's quota and use. */
final class PoolsView {

    private PoolsView() {
    }

    static Map<String, Object> of(FederationState state) {
        FederationConfig config = state.config();
        NodeRegistry.Snapshot snap = state.snapshot();
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
            v.put("strategy", p.strategy().name());
            v.put("resources", p.resources().toQuantities());
            v.put("byCluster", byCluster);
            pools.add(v);
        }
        List<Object> vcs = new ArrayList<>();
        for (FederationConfig.VirtualCluster vc : config.virtualClusters()) {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("name", vc.name());
            v.put("quota", vc.quota().isEmpty() ? null : vc.quota().toQuantities());
            v.put("used", state.usage(vc.name()).toQuantities());
            if (config.antRay().enabled()) {
                v.put("antRay", antRay(state.antRay().get(vc.name())));
            }
            vcs.add(v);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("pools", pools);
        out.put("virtualClusters", vcs);
        return out;
    }

    /** ant-ray's view of a virtual cluster (empty before the first sync). */
    private static Map<String, Object> antRay(AntRaySync.Status st) {
        Map<String, Object> v = new LinkedHashMap<>();
        if (st == null) {
            return v;
        }
        v.put("id", st.id());
        v.put("nodes", st.nodes());
        v.put("nodesByTemplate", new TreeMap<>(st.nodesByTemplate()));
        v.put("pendingMoves", st.pendingMoves());
        v.put("lastError", st.lastError());
        v.put("lastSyncAt", st.lastSyncAt() == null ? null : st.lastSyncAt().toString());
        return v;
    }
}
