package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.render.WorkerPodContract;
import io.fabric8.kubernetes.api.model.ListOptions;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

/**
 * What the member's credentials let us list, found with three cheap requests ({@code limit=1}) before any
 * informer starts, so that a missing RBAC rule becomes a clear fallback instead of a failing informer.
 *
 * @param nodes              Nodes may be listed: capacity comes from them
 * @param nodesProblem       why not, when not (null otherwise)
 * @param clusterPods        pods of all namespaces may be listed (only probed when Nodes may be)
 * @param clusterPodsProblem why not, when not (null otherwise)
 */
record MemberAccess(boolean nodes, String nodesProblem, boolean clusterPods, String clusterPodsProblem) {

    private static final ListOptions ONE = new ListOptionsBuilder().withLimit(1L).build();

    /**
     * Probes the member. Listing our own worker pods must work (any failure is thrown); Nodes and
     * cluster-wide pods may be forbidden (403/401), other failures are thrown.
     */
    static MemberAccess probe(KubernetesClient client, MemberClusterSpec spec, String rayClusterName) {
        client.pods().inNamespace(spec.namespace()).withLabels(WorkerPodContract.selector(rayClusterName)).list(ONE);
        if (spec.staticOnly()) {
            return new MemberAccess(false, null, false, null);
        }
        try {
            client.nodes().list(ONE);
        } catch (KubernetesClientException e) {
            if (!ApiFailures.forbidden(e)) {
                throw e;
            }
            return new MemberAccess(false, ApiFailures.describe(e), false, null);
        }
        try {
            client.pods().inAnyNamespace().list(ONE);
        } catch (KubernetesClientException e) {
            if (!ApiFailures.forbidden(e)) {
                throw e;
            }
            return new MemberAccess(true, null, false, ApiFailures.describe(e));
        }
        return new MemberAccess(true, null, true, null);
    }
}
