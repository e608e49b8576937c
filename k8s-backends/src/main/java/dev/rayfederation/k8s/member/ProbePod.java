package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.render.ProbePodRenderer;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStateWaiting;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodStatus;

/**
 * A network preflight probe pod as the sidecar sees it.
 *
 * @param phase    Kubernetes' pod phase (Pending, Running, Succeeded, Failed), null when not reported yet
 * @param podIp    null until the pod has one
 * @param exitCode the probe container's exit code once it ended, else null
 * @param message  the probe container's termination message once it ended, else null
 * @param waiting  why the pod has not started yet (Unschedulable, ImagePullBackOff... with the message), else null
 */
public record ProbePod(String name, String phase, String podIp, Integer exitCode, String message, String waiting) {

    /** True once the probe container has ended (its verdict is in {@link #exitCode} and {@link #message}). */
    public boolean ended() {
        return exitCode != null || "Succeeded".equals(phase) || "Failed".equals(phase);
    }

    /** Never fails on missing fields. */
    public static ProbePod from(Pod pod) {
        PodStatus status = pod.getStatus() == null ? new PodStatus() : pod.getStatus();
        Integer exitCode = null;
        String message = null;
        String waiting = null;
        if (status.getContainerStatuses() != null) {
            for (ContainerStatus cs : status.getContainerStatuses()) {
                if (!ProbePodRenderer.CONTAINER.equals(cs.getName()) || cs.getState() == null) {
                    continue;
                }
                ContainerStateTerminated t = cs.getState().getTerminated();
                if (t != null) {
                    exitCode = t.getExitCode();
                    message = firstNonBlank(t.getMessage(), t.getReason());
                }
                ContainerStateWaiting w = cs.getState().getWaiting();
                if (w != null && w.getReason() != null && !"ContainerCreating".equals(w.getReason())) {
                    waiting = w.getReason() + (w.getMessage() == null ? "" : ": " + w.getMessage());
                }
            }
        }
        if (waiting == null && status.getConditions() != null) {
            for (PodCondition c : status.getConditions()) {
                if ("PodScheduled".equals(c.getType()) && "False".equals(c.getStatus())) {
                    waiting = firstNonBlank(c.getReason(), "not scheduled")
                            + (c.getMessage() == null ? "" : ": " + c.getMessage());
                }
            }
        }
        if (message == null && "Failed".equals(status.getPhase())) {
            message = firstNonBlank(status.getMessage(), status.getReason()); // e.g. DeadlineExceeded
        }
        return new ProbePod(pod.getMetadata() == null ? null : pod.getMetadata().getName(), status.getPhase(),
                status.getPodIP() == null || status.getPodIP().isBlank() ? null : status.getPodIP(), exitCode,
                message == null ? null : message.strip(), waiting);
    }

    private static String firstNonBlank(String a, String b) {
        return a != null && !a.isBlank() ? a : b;
    }
}
