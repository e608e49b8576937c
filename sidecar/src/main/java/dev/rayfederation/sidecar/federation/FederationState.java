package dev.rayfederation.sidecar.federation;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.sidecar.antray.AntRaySync;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.decisions.Decision;
import dev.rayfederation.sidecar.placement.CapacityBackoff;
import dev.rayfederation.sidecar.placement.Cordons;
import dev.rayfederation.sidecar.preflight.PreflightResult;
import dev.rayfederation.sidecar.registry.NodeRegistry;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A read-only view of the federation for those who only look: the API's views, metrics and readiness. Nothing
 * reached through it changes what the sidecar does (members are exposed for their state, breaker and capacity).
 */
public interface FederationState {

    /** The configuration in force (a live reload replaces it). */
    FederationConfig config();

    /** Members by name, in config order, followed by those added live; removed ones until their workers are gone. */
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
    /** Each member's network preflight by name; empty when the preflight is off. */
    default Map<String, PreflightResult> preflight() {
        return Map.of();
    }

    default Map<String, AntRaySync.Status> antRay() {
        return Map.of();
    }

    /** True once every member has synced or been marked unreachable. */
    boolean ready();

    /** Why the sidecar is not ready (empty when ready). */
    List<String> notReadyReasons();

    /** Who cordoned a member, why and since when; empty when it is not cordoned. */
    default Optional<Cordons.Cordon> cordon(String member) {
        return Optional.empty();
    }

    /** Members removed from the configuration that still have workers, with their last settings. */
    default Map<String, Reconfiguration.Removed> removedMembers() {
        return Map.of();
    }

    /** The configuration's generation and how the last reload went. */
    Reconfiguration.Status configStatus();
}
