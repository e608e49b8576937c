package dev.rayfederation.k8s.member;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;

/**
 * Looks behind a "GOAWAY received". Since Kubernetes 1.29 an API server answers a refused token with 401 and closes
 * the HTTP/2 connection at once, and Java's HTTP client then reports the GOAWAY, not the 401. This asks the API
 * server for its version again over HTTP/1.1, where the 401 arrives as one.
 */
final class GoAwayRecheck {

    private GoAwayRecheck() {
    }

    /**
     * Blocks for at most the client's request timeout (run it on a call thread).
     *
     * @return the 401 (or RBAC 403) behind {@code goAway}, or {@code goAway} itself when the member answers otherwise
     */
    static RuntimeException explain(KubernetesClient client, RuntimeException goAway) {
        Config http11 = new ConfigBuilder(client.getConfiguration()).withHttp2Disable(true).withRequestRetryBackoffLimit(0).build();
        try (KubernetesClient probe = new KubernetesClientBuilder().withConfig(http11)
                .withHttpClientFactory(new JdkHttpClientFactory()).build()) {
            probe.getKubernetesVersion();
            return goAway;
        } catch (KubernetesClientException e) {
            return ApiFailures.kind(e) == MemberApiException.Kind.UNAUTHORIZED ? e : goAway;
        }
    }
}
