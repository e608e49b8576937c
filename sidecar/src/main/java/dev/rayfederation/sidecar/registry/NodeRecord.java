package dev.rayfederation.sidecar.registry;

import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.resources.WorkerShape;

import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the sidecar knows of one worker node. Immutable: the registry replaces records. Change a record with
 * its withers ({@link #withPhase}, {@link #withReason}, {@link #movedTo}, ...) or, for several fields at once,
 * {@link #toBuilder()}; make a new one with {@link #builder()}.
 *
 * @param id             Ray node id (minted by the sidecar; kept across re-placement)
 * @param nodeType       Ray node type name
 * @param pool           pool name (may name a pool no longer configured, for pods found at start-up)
 * @param virtualCluster the pool's virtual cluster
 * @param member         member cluster holding (or about to hold) its pod
 * @param podName        its pod's name in that member
 * @param tags           Ray tags as received, plus those the sidecar maintains
 * @param status         the ray-node-status value ({@link NodeStatus})
 * @param internalIp     pod IP once known
 * @param externalIp     null: members' pod IPs are the only addresses
 * @param phase          where it is in its life, see {@link Phase}
 * @param bound          its pod is bound to a Kubernetes node (so capacity already counts it)
 * @param requestId      the create request that made it
 * @param requestHash    hash of that request's body
 * @param requestCount   how many workers that request asked for
 * @param resources      Ray resources of one worker of its pool (for quotas)
 * @param shape          its pod's shape on its member (for capacity reservations while unbound)
 * @param created        when it was placed (on its current member)
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

    /** Is this record still the node as it was placed in {@code placed}'s member and pod (not re-placed since)? */
    public boolean samePodAs(NodeRecord placed) {
        return member.equals(placed.member()) && podName.equals(placed.podName());
    }

    public NodeRecord withTags(Map<String, String> newTags) {
        return toBuilder().tags(newTags).build();
    }

    public NodeRecord withPhase(Phase newPhase) {
        return toBuilder().phase(newPhase).build();
    }

    public NodeRecord withReason(String newReason) {
        return toBuilder().reason(newReason).build();
    }

    /** What its pod reports now: status (also as the status tag), IP, binding, reason; CREATING becomes POD. */
    public NodeRecord withObserved(String newStatus, String ip, boolean isBound, String why) {
        return toBuilder().status(newStatus).internalIp(ip).bound(isBound).reason(why)
                .phase(phase == Phase.CREATING ? Phase.POD : phase).build();
    }

    /** The same node (same id, tags, request) placed anew on another member: its pod is about to be created. */
    public NodeRecord movedTo(String newMember, String newPodName, WorkerShape newShape, Instant at, String why) {
        return toBuilder().member(newMember).podName(newPodName).shape(newShape).created(at).reason(why)
                .status(NodeStatus.RE_PLACING).internalIp(null).bound(false).phase(Phase.CREATING).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.id = id;
        b.nodeType = nodeType;
        b.pool = pool;
        b.virtualCluster = virtualCluster;
        b.member = member;
        b.podName = podName;
        b.tags = tags;
        b.status = status;
        b.internalIp = internalIp;
        b.externalIp = externalIp;
        b.phase = phase;
        b.bound = bound;
        b.requestId = requestId;
        b.requestHash = requestHash;
        b.requestCount = requestCount;
        b.resources = resources;
        b.shape = shape;
        b.created = created;
        b.reason = reason;
        return b;
    }

    /**
     * Builds records field by field. {@link #status(String)} also sets the {@code ray-node-status} tag, so a
     * record's status and its status tag can never disagree.
     */
    public static final class Builder {
        private String id;
        private String nodeType;
        private String pool;
        private String virtualCluster;
        private String member;
        private String podName;
        private Map<String, String> tags = Map.of();
        private String status;
        private String internalIp;
        private String externalIp;
        private Phase phase = Phase.CREATING;
        private boolean bound;
        private String requestId;
        private String requestHash;
        private int requestCount;
        private ResourceVector resources = ResourceVector.EMPTY;
        private WorkerShape shape;
        private Instant created;
        private String reason;

        private Builder() {
        }

        public Builder id(String v) { id = v; return this; }
        public Builder nodeType(String v) { nodeType = v; return this; }
        public Builder pool(String v) { pool = v; return this; }
        public Builder virtualCluster(String v) { virtualCluster = v; return this; }
        public Builder member(String v) { member = v; return this; }
        public Builder podName(String v) { podName = v; return this; }
        public Builder tags(Map<String, String> v) { tags = v; return this; }
        public Builder internalIp(String v) { internalIp = v; return this; }
        public Builder externalIp(String v) { externalIp = v; return this; }
        public Builder phase(Phase v) { phase = v; return this; }
        public Builder bound(boolean v) { bound = v; return this; }
        public Builder requestId(String v) { requestId = v; return this; }
        public Builder requestHash(String v) { requestHash = v; return this; }
        public Builder requestCount(int v) { requestCount = v; return this; }
        public Builder resources(ResourceVector v) { resources = v; return this; }
        public Builder shape(WorkerShape v) { shape = v; return this; }
        public Builder created(Instant v) { created = v; return this; }
        public Builder reason(String v) { reason = v; return this; }

        public Builder status(String v) {
            status = v;
            if (v != null && !v.equals(tags.get(RayTags.NODE_STATUS))) {
                Map<String, String> t = new TreeMap<>(tags);
                t.put(RayTags.NODE_STATUS, v);
                tags = t;
            }
            return this;
        }

        public NodeRecord build() {
            return new NodeRecord(id, nodeType, pool, virtualCluster, member, podName, tags, status, internalIp,
                    externalIp, phase, bound, requestId, requestHash, requestCount, resources, shape, created, reason);
        }
    }
}
