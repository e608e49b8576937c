package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.render.ProbePodRenderer;
import dev.rayfederation.k8s.render.ProbePodSpec;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * The network preflight's calls to a member: create, read and delete probe pods. Each is one idempotent call
 * through the member's {@link CallGuard}; none of them touches the workers' informer or cache.
 */
final class ProbeCommands {

    private final MemberClusterSpec spec;
    private final String rayClusterName;
    private final CallGuard guard;
    private final Supplier<KubernetesClient> client;

    ProbeCommands(MemberClusterSpec spec, String rayClusterName, CallGuard guard, Supplier<KubernetesClient> client) {
        this.spec = spec;
        this.rayClusterName = rayClusterName;
        this.guard = guard;
        this.client = client;
    }

    CompletionStage<ProbePod> create(ProbePodSpec probe) {
        Pod pod;
        try {
            pod = ProbePodRenderer.render(probe);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        String name = pod.getMetadata().getName();
        return guard.call("create probe pod " + name, CallGuard.Retry.IDEMPOTENT, () -> {
            try {
                return ProbePod.from(client.get().pods().inNamespace(spec.namespace()).resource(pod).create());
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409) {
                    throw e;
                }
                // a retried create whose first attempt went through (probe names are never reused)
                Pod existing = client.get().pods().inNamespace(spec.namespace()).withName(name).get();
                if (existing == null) {
                    throw e;
                }
                return ProbePod.from(existing);
            }
        });
    }

    CompletionStage<Optional<ProbePod>> get(String podName) {
        return guard.call("get probe pod " + podName, CallGuard.Retry.IDEMPOTENT, () -> Optional.ofNullable(
                client.get().pods().inNamespace(spec.namespace()).withName(podName).get()).map(ProbePod::from));
    }

    CompletionStage<Boolean> delete(String podName) {
        return guard.call("delete probe pod " + podName, CallGuard.Retry.IDEMPOTENT,
                () -> !client.get().pods().inNamespace(spec.namespace()).withName(podName).delete().isEmpty());
    }

    /** Deletes every probe pod of this Ray cluster in the member (one by one: the member's Role has no deletecollection). */
    CompletionStage<Integer> deleteAll() {
        return guard.call("delete leftover probe pods", CallGuard.Retry.IDEMPOTENT, () -> {
            int deleted = 0;
            for (Pod p : client.get().pods().inNamespace(spec.namespace())
                    .withLabels(ProbePodRenderer.selector(rayClusterName)).list().getItems()) {
                if (!client.get().pods().inNamespace(spec.namespace()).withName(p.getMetadata().getName()).delete().isEmpty()) {
                    deleted++;
                }
            }
            return deleted;
        });
    }
}
