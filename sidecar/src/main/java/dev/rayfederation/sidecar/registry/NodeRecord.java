package dev.rayfederation.sidecar.registry;

import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.resources.WorkerShape;

import java.time.Instant;
import java.util.Map;

/**
 * What the sidecar knows of one worker node. Immutable: the registry replaces records.
 *
 * @param id             Ray node id (minted by the sidecar; kept across re-placement)
 * @param nodeType       Ray node type name
 * @param pool           pool name (may name a pool no longer configured, for pods found at start-up)
 * @param virtualCluster the pool's virtual cluster
 * @param member         member cluster holding (or about to hold) its pod
 * @param podName        its pod's name in that member
 * @param tags           Ray tags as received, plus those the sidecar maintains
 * @param status         the ray-node-status value (DESIGN §4)
 * @param internalIp     pod IP once known
 * @param externalIp     null: members' pod IPs are the only addresses
 * @param phase          where it is in its life, see {@link Phase}
 * @param bound          its pod is bound to a Kubernetes node (so capacity already counts it)
 * @param requestId      the create request that made it
 * @param requestHash    hash of that request's body
 * @param requestCount   how many workers that request asked for
 * @param resources      Ray resources of one worker of its pool (for quotas)
 * @param shape          its pod's shape on its member (for capacity reservations while unbound)
 * @param created        when it was placed
 * @param reason         detail behind a pending or failed status, may be null
 */
public record NodeRecord(
        String id,
        String nodeType,
        String pool,
        String virtualCluster,
        String member,
        String podName,
        Map<String, String> tags,
        String status,
        String internalIp,
        String externalIp,
        Phase phase,
        boolean bound,
        String requestId,
        String requestHash,
        int requestCount,
        ResourceVector resources,
        WorkerShape shape,
        Instant created,
        String reason) {

    public NodeRecord {
        tags = Map.copyOf(tags);
    }

    /** Where a node is in its life. */
    public enum Phase {
        /** Placed; its pod is being created. Counts for quotas and capacity. */
        CREATING,
        /** Its pod exists in the member. */
        POD,
        /** Ray asked to terminate it; no longer in the snapshot; deletion in progress or being retried. */
        TERMINATING
    }

    public boolean live() {
        return phase != Phase.TERMINATING;
    }

    public NodeRecord withTags(Map<String, String> newTags) {
        return new NodeRecord(id, nodeType, pool, virtualCluster, member, podName, newTags, status, internalIp,
                externalIp, phase, bound, requestId, requestHash, requestCount, resources, shape, created, reason);
    }

    public NodeRecord withPhase(Phase newPhase) {
        return new NodeRecord(id, nodeType, pool, virtualCluster, member, podName, tags, status, internalIp,
                externalIp, newPhase, bound, requestId, requestHash, requestCount, resources, shape, created, reason);
    }

    public NodeRecord withObserved(String newStatus, String ip, boolean isBound, String why) {
        Map<String, String> t = new java.util.TreeMap<>(tags);
        t.put(RayTags.NODE_STATUS, newStatus);
        return new NodeRecord(id, nodeType, pool, virtualCluster, member, podName, t, newStatus, ip,
                externalIp, phase == Phase.CREATING ? Phase.POD : phase, isBound, requestId, requestHash, requestCount,
                resources, shape, created, why);
    }
}
