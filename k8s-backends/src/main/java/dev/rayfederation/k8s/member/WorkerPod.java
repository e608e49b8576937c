package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.resources.ResourceVector;

import java.time.Instant;
import java.util.Map;

/**
 * One of our worker pods as seen in a member's informer cache, translated out of fabric8's model.
 *
 * @param member       member cluster name
 * @param podName      pod name
 * @param uid          pod uid
 * @param nodeId       value of label ray-federation.io/node-id
 * @param pool         value of label ray-federation.io/pool
 * @param virtualCluster value of label ray-federation.io/virtual-cluster
 * @param rayNodeType  value of label ray-federation.io/node-type
 * @param tags         Ray tags from the tags annotation (empty if absent or unreadable)
 * @param requestId    request-id annotation, may be null
 * @param requestHash  request-hash annotation, may be null
 * @param requestCount request-count annotation, 0 if absent
 * @param phase        pod phase (Pending, Running, Succeeded, Failed, Unknown)
 * @param ready        Ready condition is True
 * @param kubeNode     spec.nodeName, null while unbound
 * @param podIp        status.podIP, may be null
 * @param hostIp       status.hostIP, may be null
 * @param condition    what is holding the pod back, or null: see {@link Condition}
 * @param message      human-readable detail for the condition, may be null
 * @param deleting     metadata.deletionTimestamp is set
 * @param created      creation timestamp, may be null
 * @param requests     summed container requests (milli-units, Ray names for cpu/memory/GPU)
 */
public record WorkerPod(
        String member,
        String podName,
        String uid,
        String nodeId,
        String pool,
        String virtualCluster,
        String rayNodeType,
        Map<String, String> tags,
        String requestId,
        String requestHash,
        int requestCount,
        String phase,
        boolean ready,
        String kubeNode,
        String podIp,
        String hostIp,
        Condition condition,
        String message,
        boolean deleting,
        Instant created,
        ResourceVector requests) {

    /** Why a worker pod is not (yet) a healthy Ray node. */
    public enum Condition {
        /** PodScheduled=False with reason Unschedulable. */
        UNSCHEDULABLE,
        /** Bound, waiting on the image (ErrImagePull, ImagePullBackOff, or just pulling). */
        IMAGE_PULL,
        /** A container keeps crashing (CrashLoopBackOff) or could not be created. */
        CRASH_LOOP,
        /** Evicted or preempted by the member (reason Evicted/Preempting/DeletionByTaintManager...). */
        EVICTED
    }

    public boolean bound() {
        return kubeNode != null && !kubeNode.isEmpty();
    }

    public boolean terminated() {
        return "Succeeded".equals(phase) || "Failed".equals(phase);
    }
}
