package dev.rayfederation.k8s.member;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.rayfederation.k8s.render.Json;
import dev.rayfederation.k8s.render.WorkerPodContract;
import dev.rayfederation.k8s.render.WorkerPodRenderer;
import dev.rayfederation.k8s.render.WorkerPodSpec;
import dev.rayfederation.k8s.resilience.ResilienceOptions;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * The commands that change a member's worker pods: create, update tags, delete. Each is one idempotent API call
 * (pods are created under a fixed name, deletes and merge patches may be repeated) sent through the member's
 * {@link CallGuard}, which retries it after failures that may pass. Callers never block.
 */
final class PodCommands {

    private final MemberClusterSpec spec;
    private final MemberClusterOptions options;
    private final CallGuard guard;
    private final Supplier<KubernetesClient> client;
    private final WorkerPodCache cache;

    /** @param client the member's current client (opened on first use) */
    PodCommands(MemberClusterSpec spec, MemberClusterOptions options, CallGuard guard, Supplier<KubernetesClient> client,
                WorkerPodCache cache) {
        this.spec = spec;
        this.options = options;
        this.guard = guard;
        this.client = client;
        this.cache = cache;
    }

    /**
     * Creates the worker pod, or returns the existing one when a pod of that name already carries the same
     * node id (a retried create). Each attempt gets {@code create.attemptTimeout}; no retry starts that could not
     * end within {@code create.deadline}. Fails with {@link MemberApiException} (status 409) when the name is taken by
     * another node id.
     */
    CompletionStage<WorkerPod> create(WorkerPodSpec podSpec) {
        Pod pod;
        try {
            pod = WorkerPodRenderer.render(forThisMember(podSpec));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        String name = pod.getMetadata().getName();
        // short attempts and a deadline inside the autoscaler's tick: a create never hangs on a silent member
        ResilienceOptions.CreateSettings deadlines = options.resilience().create();
        return guard.call("create pod " + name, CallGuard.Retry.IDEMPOTENT, deadlines.attemptTimeout(), deadlines.deadline(), () -> {
            KubernetesClient c = client.get();
            try {
                return cache.translate(c.pods().inNamespace(spec.namespace()).resource(pod).create());
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409) {
                    throw e;
                }
                Pod existing = c.pods().inNamespace(spec.namespace()).withName(name).get();
                String existingId = existing == null || existing.getMetadata().getLabels() == null
                        ? null : existing.getMetadata().getLabels().get(WorkerPodContract.LABEL_NODE_ID);
                if (existing != null && podSpec.nodeId().equals(existingId)) {
                    return cache.translate(existing);
                }
                throw new MemberApiException(spec.name(), "create pod " + name, 409, existing == null
                        ? "pod " + name + " already exists and is being deleted"
                        : "pod " + name + " already exists with node id " + existingId + ", not " + podSpec.nodeId(), e);
            }
        });
    }

    /** Replaces the tags annotation with a JSON merge patch (nothing else of the pod changes); false when gone. */
    CompletionStage<Boolean> updateTags(String podName, Map<String, String> tags) {
        if (podName == null || podName.isBlank()) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("podName: is required"));
        }
        String patch;
        try {
            patch = Json.MAPPER.writeValueAsString(Map.of("metadata", Map.of("annotations",
                    Map.of(WorkerPodContract.ANNOTATION_TAGS, WorkerPodRenderer.tagsJson(tags)))));
        } catch (JsonProcessingException e) {
            return CompletableFuture.failedFuture(new IllegalStateException("cannot write the tags patch", e));
        }
        return call("update tags of pod " + podName, () -> {
            try {
                client.get().pods().inNamespace(spec.namespace()).withName(podName)
                        .patch(PatchContext.of(PatchType.JSON_MERGE), patch);
                return true;
            } catch (KubernetesClientException e) {
                if (e.getCode() == 404) {
                    return false;
                }
                throw e;
            }
        });
    }

    /** Deletes a worker pod; false when it was already gone. */
    CompletionStage<Boolean> delete(String podName) {
        if (podName == null || podName.isBlank()) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("podName: is required"));
        }
        return call("delete pod " + podName,
                () -> !client.get().pods().inNamespace(spec.namespace()).withName(podName).delete().isEmpty());
    }

    private <T> CompletionStage<T> call(String op, Supplier<T> action) {
        return guard.call(op, CallGuard.Retry.IDEMPOTENT, action);
    }

    private WorkerPodSpec forThisMember(WorkerPodSpec s) {
        Objects.requireNonNull(s, "spec");
        if (!options.rayClusterName().equals(s.rayClusterName())) {
            throw new IllegalArgumentException("WorkerPodSpec.rayClusterName: '" + s.rayClusterName()
                    + "' differs from this member's rayClusterName '" + options.rayClusterName() + "'");
        }
        if (s.gpuResourceName() != null && !s.gpuResourceName().isBlank()) {
            return s;
        }
        return new WorkerPodSpec(s.nodeId(), s.podName(), s.rayClusterName(), s.headAddress(), s.pool(), s.virtualCluster(),
                s.rayNodeType(), s.member(), s.region(), s.zone(), s.resources(), s.rayResources(), s.labels(), s.template(),
                s.override(), s.tags(), s.requestId(), s.requestHash(), s.requestCount(), options.gpuResourceName());
    }
}
