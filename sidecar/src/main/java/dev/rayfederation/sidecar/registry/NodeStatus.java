package dev.rayfederation.sidecar.registry;

import dev.rayfederation.k8s.member.WorkerPod;

/**
 * The ray-node-status a worker pod stands for: {@code up-to-date} only when Running and Ready,
 * {@code update-failed} when it failed or cannot run, otherwise a short pending reason.
 */
public final class NodeStatus {

    public static final String CREATING = "pending: creating";
    public static final String SCHEDULING = "pending: scheduling";
    public static final String UNSCHEDULABLE = "pending: unschedulable";
    public static final String IMAGE_PULL = "pending: image-pull";
    public static final String STARTING = "pending: starting";
    public static final String RE_PLACING = "pending: re-placing";
    /**
     * A create was sent and never answered: the pod may exist. The node stays listed (Ray does not launch another
     * in its place) until the member confirms the pod (adopted) or its absence (forgotten).
     */
    public static final String OUTCOME_UNKNOWN = "pending: outcome-unknown";

    private NodeStatus() {
    }

    public static String of(WorkerPod pod) {
        if (pod.terminated()) {
            return RayTags.STATUS_UPDATE_FAILED;
        }
        if (pod.condition() == WorkerPod.Condition.CRASH_LOOP || pod.condition() == WorkerPod.Condition.EVICTED) {
            return RayTags.STATUS_UPDATE_FAILED;
        }
        if ("Running".equals(pod.phase()) && pod.ready()) {
            return RayTags.STATUS_UP_TO_DATE;
        }
        if (!pod.bound()) {
            return pod.condition() == WorkerPod.Condition.UNSCHEDULABLE ? UNSCHEDULABLE : SCHEDULING;
        }
        if (pod.condition() == WorkerPod.Condition.IMAGE_PULL) {
            return IMAGE_PULL;
        }
        return STARTING;
    }

    /** Detail worth showing beside the status, or null. */
    public static String reason(WorkerPod pod) {
        if (pod.message() != null && !pod.message().isBlank()) {
            return pod.message();
        }
        if (pod.terminated()) {
            return "pod " + pod.phase();
        }
        return null;
    }

    /** The reason shown with {@link #OUTCOME_UNKNOWN}. */
    public static String outcomeUnknownReason(String member, String what) {
        return "create outcome unknown: member " + member + " did not answer (" + what + "); listed until " + member
                + " confirms the pod or its absence";
    }

    /** {@code r} updated with what its pod reports now: status, IP, binding and reason. */
    public static NodeRecord observe(NodeRecord r, WorkerPod pod) {
        return r.withObserved(of(pod), pod.podIp(), pod.bound(), reason(pod));
    }
}
