package dev.rayfederation.sidecar.federation;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.sidecar.antray.AntRaySync;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.decisions.Decision;
import dev.rayfederation.sidecar.placement.CapacityBackoff;
import dev.rayfederation.sidecar.registry.NodeRegistry;

import java.util.List;
import java.util.Map;

/**
 * A read-only view of the federation for those who only look: the API's views, metrics and readiness. Nothing
 * reached through it changes what the sidecar does (members are exposed for their state, breaker and capacity).
 */
public interface FederationState {

    FederationConfig config();

    /** Members by name, in config order. */
    Map<String, MemberCluster> members();

    /** The live nodes at the current revision. */
    NodeRegistry.Snapshot snapshot();

    /** Ray resources the live nodes of a virtual cluster use, across all members. */
    ResourceVector usage(String virtualCluster);

    /** Every (member, pool) pair backing off now. */
    List<CapacityBackoff.Entry> backoffs();

    /**
     * The newest placement decisions first, at most {@code limit}, filtered by pool, member and kind (null: any).
     */
    List<Decision> decisions(String pool, String member, Decision.Kind kind, int limit);

    /** ant-ray's view of each virtual cluster by name (empty when the ant-ray integration is off). */
    default Map<String, AntRaySync.Status> antRay() {
        return Map.of();
    }

    /** True once every member has synced or been marked unreachable. */
    boolean ready();

    /** Why the sidecar is not ready (empty when ready). */
    List<String> notReadyReasons();
}
