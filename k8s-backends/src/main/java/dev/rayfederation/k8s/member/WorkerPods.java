package dev.rayfederation.k8s.member;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.rayfederation.k8s.capacity.PodRequests;
import dev.rayfederation.k8s.render.Json;
import dev.rayfederation.k8s.render.WorkerPodContract;
import io.fabric8.kubernetes.api.model.ContainerStateWaiting;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodStatus;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Translates fabric8 Pods of our workers into {@link WorkerPod} records. */
public final class WorkerPods {

    private static final Set<String> IMAGE_PULL = Set.of("ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName");
    private static final Set<String> CRASH_LOOP = Set.of("CrashLoopBackOff", "CreateContainerError", "CreateContainerConfigError", "RunContainerError");

    private WorkerPods() {
    }

    /** The worker pod as the sidecar sees it; never fails on missing or malformed fields. */
    public static WorkerPod from(String member, Pod pod, String gpuResourceName) {
        ObjectMeta meta = pod.getMetadata() == null ? new ObjectMeta() : pod.getMetadata();
        Map<String, String> labels = meta.getLabels() == null ? Map.of() : meta.getLabels();
        Map<String, String> annotations = meta.getAnnotations() == null ? Map.of() : meta.getAnnotations();
        PodStatus status = pod.getStatus() == null ? new PodStatus() : pod.getStatus();
        Held held = heldBy(status);
        return new WorkerPod(
                member,
                meta.getName(),
                meta.getUid(),
                labels.get(WorkerPodContract.LABEL_NODE_ID),
                labels.get(WorkerPodContract.LABEL_POOL),
                labels.get(WorkerPodContract.LABEL_VIRTUAL_CLUSTER),
                labels.get(WorkerPodContract.LABEL_NODE_TYPE),
                tags(annotations.get(WorkerPodContract.ANNOTATION_TAGS)),
                annotations.get(WorkerPodContract.ANNOTATION_REQUEST_ID),
                annotations.get(WorkerPodContract.ANNOTATION_REQUEST_HASH),
                count(annotations.get(WorkerPodContract.ANNOTATION_REQUEST_COUNT)),
                status.getPhase(),
                conditionTrue(status, "Ready"),
                pod.getSpec() == null || isBlank(pod.getSpec().getNodeName()) ? null : pod.getSpec().getNodeName(),
                blankToNull(status.getPodIP()),
                blankToNull(status.getHostIP()),
                held == null ? null : held.condition(),
                held == null ? null : held.message(),
                meta.getDeletionTimestamp() != null,
                instant(meta.getCreationTimestamp()),
                PodRequests.of(pod, gpuResourceName));
    }

    private record Held(WorkerPod.Condition condition, String message) {
    }

    /** The most telling reason the pod is held back: evicted, unschedulable, crashing, then image pull. */
    private static Held heldBy(PodStatus status) {
        if ("Evicted".equals(status.getReason())) {
            return new Held(WorkerPod.Condition.EVICTED, messageOr(status.getMessage(), "Evicted"));
        }
        PodCondition disruption = condition(status, "DisruptionTarget");
        if (disruption != null && "True".equals(disruption.getStatus())) {
            return new Held(WorkerPod.Condition.EVICTED, messageOr(disruption.getMessage(), disruption.getReason()));
        }
        PodCondition scheduled = condition(status, "PodScheduled");
        if (scheduled != null && "False".equals(scheduled.getStatus()) && "Unschedulable".equals(scheduled.getReason())) {
            return new Held(WorkerPod.Condition.UNSCHEDULABLE, messageOr(scheduled.getMessage(), "Unschedulable"));
        }
        List<ContainerStatus> all = new ArrayList<>();
        if (status.getInitContainerStatuses() != null) {
            all.addAll(status.getInitContainerStatuses());
        }
        if (status.getContainerStatuses() != null) {
            all.addAll(status.getContainerStatuses());
        }
        Held pull = null;
        for (ContainerStatus cs : all) {
            ContainerStateWaiting waiting = cs.getState() == null ? null : cs.getState().getWaiting();
            if (waiting == null || waiting.getReason() == null) {
                continue;
            }
            String text = cs.getName() + ": " + messageOr(waiting.getMessage(), waiting.getReason());
            if (CRASH_LOOP.contains(waiting.getReason())) {
                return new Held(WorkerPod.Condition.CRASH_LOOP, waiting.getReason() + " " + text);
            }
            if (pull == null && IMAGE_PULL.contains(waiting.getReason())) {
                pull = new Held(WorkerPod.Condition.IMAGE_PULL, waiting.getReason() + " " + text);
            }
        }
        return pull;
    }

    private static PodCondition condition(PodStatus status, String type) {
        if (status.getConditions() == null) {
            return null;
        }
        for (PodCondition c : status.getConditions()) {
            if (type.equals(c.getType())) {
                return c;
            }
        }
        return null;
    }

    private static boolean conditionTrue(PodStatus status, String type) {
        PodCondition c = condition(status, type);
        return c != null && "True".equals(c.getStatus());
    }

    static Map<String, String> tags(String json) {
        if (json == null || json.isBlank()) {
            return Map.of();
        }
        try {
            Map<String, String> tags = Json.MAPPER.readValue(json, new TypeReference<Map<String, String>>() {
            });
            return tags == null ? Map.of() : Map.copyOf(tags);
        } catch (Exception e) {
            return Map.of();
        }
    }

    private static int count(String s) {
        if (s == null) {
            return 0;
        }
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static Instant instant(String s) {
        if (s == null) {
            return null;
        }
        try {
            return Instant.parse(s);
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    private static String messageOr(String message, String fallback) {
        return isBlank(message) ? fallback : message;
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }

    private static String blankToNull(String s) {
        return isBlank(s) ? null : s;
    }
}
