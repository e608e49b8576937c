package dev.rayfederation.k8s.member;

import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;

import java.net.URI;

/**
 * Sends watch requests past the fault-injecting proxy, straight to the member's API server. WireMock buffers a
 * proxied answer until it is complete, which a watch never is; every other request still goes through the proxy.
 */
final class WatchesGoDirect implements Interceptor {

    static final String NAME = "test-watches-go-direct";

    private final int proxyPort;
    private final int serverPort;

    WatchesGoDirect(int proxyPort, int serverPort) {
        this.proxyPort = proxyPort;
        this.serverPort = serverPort;
    }

    @Override
    public void before(BasicBuilder builder, HttpRequest request, RequestTags tags) {
        URI uri = request.uri();
        if (uri.getPort() == proxyPort && uri.getRawQuery() != null && uri.getRawQuery().contains("watch=true")) {
            builder.uri(URI.create(uri.toString().replaceFirst(":" + proxyPort + "/", ":" + serverPort + "/")));
        }
    }
}
