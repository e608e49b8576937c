package dev.rayfederation.sidecar.api;

import dev.rayfederation.k8s.resilience.BreakerStatus;
import dev.rayfederation.k8s.capacity.CapacityView;
import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.federation.FederationState;
import dev.rayfederation.sidecar.federation.Reconfiguration;
import dev.rayfederation.sidecar.placement.CapacityBackoff;
import dev.rayfederation.sidecar.placement.Cordons;
import dev.rayfederation.sidecar.preflight.PreflightResult;
import dev.rayfederation.sidecar.registry.NodeRecord;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * GET /v1/clusters: each member's state, breaker, capacity, nodes, back-offs, cordon and network preflight (members removed from the
 * configuration follow, until their workers are gone), and the configuration's generation and last reload.
 */
final class ClustersView {

    private ClustersView() {
    }

    static Map<String, Object> of(FederationState state) {
        Map<String, Integer> nodes = new TreeMap<>();
        for (NodeRecord n : state.snapshot().nodes()) {
            nodes.merge(n.member(), 1, Integer::sum);
        }
        List<CapacityBackoff.Entry> backoffs = state.backoffs();
        Map<String, PreflightResult> preflight = state.preflight();
        List<Object> out = new ArrayList<>();
        for (FederationConfig.Cluster c : state.config().clusters()) {
            out.add(member(c, state, nodes.getOrDefault(c.name(), 0), backoffs, null, preflight.get(c.name())));
        }
        state.removedMembers().forEach((name, r) -> {
            if (state.members().containsKey(name)) { // not forgotten meanwhile
                out.add(member(r.settings(), state, nodes.getOrDefault(name, 0), backoffs, r.since(), null));
            }
        });
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("clusters", out);
        body.put("config", config(state.configStatus()));
        return body;
    }

    /** The answer of a cordon or uncordon: the member's cordon as listed here. */
    static Map<String, Object> cordon(String member, FederationState state) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("name", member);
        putCordon(v, state.cordon(member).orElse(null));
        return v;
    }

    private static void putCordon(Map<String, Object> v, Cordons.Cordon c) {
        v.put("cordoned", c != null);
        v.put("cordonedBy", c == null ? null : c.by());
        v.put("cordonReason", c == null ? null : c.reason());
        v.put("cordonedSince", c == null ? null : c.since().toString());
    }

    private static Map<String, Object> config(Reconfiguration.Status s) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("generation", s.generation());
        v.put("since", s.since().toString());
        v.put("lastReloadAt", s.lastAttempt() == null ? null : s.lastAttempt().toString());
        v.put("lastReload", s.lastOutcome() == null ? null : s.lastOutcome().wire());
        v.put("problems", s.problems());
        return v;
    }

    private static Map<String, Object> member(FederationConfig.Cluster c, FederationState state, int nodes,
                                              List<CapacityBackoff.Entry> backoffs, Instant removedSince,
                                              PreflightResult preflight) {
        MemberCluster m = state.members().get(c.name());
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
        v.put("removed", removedSince != null);
        putCordon(v, removedSince != null ? new Cordons.Cordon("configuration", "removed from the configuration; "
                + "forgotten once its " + nodes + " worker(s) are gone", removedSince) : state.cordon(c.name()).orElse(null));
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
        v.put("preflight", preflight == null ? null : preflight(preflight));
        return v;
    }

    /** A member's network preflight; null in the member's entry when the preflight is off. */
    static Map<String, Object> preflight(PreflightResult p) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("result", p.state().wire());
        v.put("direction", p.direction());
        v.put("error", p.error());
        v.put("since", p.at().toString());
        v.put("lastRunAt", p.lastRunAt() == null ? null : p.lastRunAt().toString());
        v.put("note", p.note());
        return v;
    }
}
