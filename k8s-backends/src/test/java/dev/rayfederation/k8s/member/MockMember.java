package dev.rayfederation.k8s.member;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;

/**
 * One simulated member cluster for tests: a fabric8 mock API server in CRUD mode on a loopback port, a
 * kubeconfig file that reaches it through a named context, and an admin client playing "someone else".
 * Paths listed as forbidden answer 403, as an API server does for a service account without that RBAC.
 * The server can be stopped and started again on the same port, keeping what it stores.
 */
final class MockMember implements AutoCloseable {

    static final String TOKEN = "dummy-token-s3cr3t";

    final String name;
    final Path kubeconfig;
    private final Dispatcher dispatcher;
    private KubernetesMockServer server;
    private KubernetesClient admin;
    private final int port;

    private MockMember(String name, Path dir, List<String> forbidden, int port) {
        this.name = name;
        this.dispatcher = new Dispatcher(forbidden);
        this.port = startServer(port);
        this.kubeconfig = writeKubeconfig(dir.resolve(name + ".kubeconfig"), name, this.port);
    }

    static MockMember start(String name, Path dir, String... forbiddenPaths) {
        return new MockMember(name, dir, List.of(forbiddenPaths), 0);
    }

    /** Starts a member on a port chosen earlier (for example one a client already failed to reach). */
    static MockMember startOn(int port, String name, Path dir) {
        return new MockMember(name, dir, List.of(), port);
    }

    private int startServer(int wanted) {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
        try {
            server.init(InetAddress.getLoopbackAddress(), wanted);
        } catch (RuntimeException e) {
            throw new IllegalStateException("cannot start the mock API server of " + name + " on port " + wanted, e);
        }
        admin = server.createClient();
        return server.getPort();
    }

    int port() {
        return port;
    }

    /** A client for seeding objects and acting as another user of the member. */
    KubernetesClient admin() {
        return admin;
    }

    MockMember withNamespace(String ns) {
        admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
        return this;
    }

    MockMember withNodes(Node... nodes) {
        for (Node n : nodes) {
            admin.nodes().resource(n).create();
        }
        return this;
    }

    /** Stops the API server (the port closes); stored objects are kept for {@link #restart()}. */
    void stop() {
        admin.close();
        server.destroy();
    }

    /** Starts the API server again on the same port with the same stored objects. */
    void restart() {
        startServer(port);
    }

    @Override
    public void close() {
        try {
            admin.close();
        } finally {
            try {
                server.destroy();
            } catch (IllegalStateException e) {
                // fabric8's mock server can time out closing a connection that was mid-send (seen under load at
                // teardown); the test's assertions are done, and the next test gets a server on a port of its own
                System.err.println("mock member on port " + port + " did not shut down cleanly: " + e.getMessage());
            }
        }
    }

    /** A free loopback port with nothing listening on it. */
    static int closedPort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A kubeconfig whose context {@code context} reaches {@code port}; its current context is a decoy pointing
     * at a closed port, so only a client that selects the context by name gets through.
     */
    static Path writeKubeconfig(Path file, String context, int port) {
        String yaml = """
                apiVersion: v1
                kind: Config
                clusters:
                - name: %1$s
                  cluster:
                    server: http://127.0.0.1:%2$d
                - name: decoy
                  cluster:
                    server: http://127.0.0.1:%3$d
                contexts:
                - name: %1$s
                  context:
                    cluster: %1$s
                    user: %1$s-admin
                - name: decoy
                  context:
                    cluster: decoy
                    user: %1$s-admin
                current-context: decoy
                users:
                - name: %1$s-admin
                  user:
                    token: %4$s
                """.formatted(context, port, closedPort(), TOKEN);
        try {
            Files.writeString(file, yaml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    /** The CRUD dispatcher, answering 403 on forbidden collection paths. */
    private static final class Dispatcher extends KubernetesCrudDispatcher {

        private final List<String> forbidden;

        Dispatcher(List<String> forbidden) {
            this.forbidden = forbidden;
        }

        @Override
        public MockResponse dispatch(RecordedRequest request) {
            String path = request.getPath();
            for (String f : forbidden) {
                if (path.equals(f) || path.startsWith(f + "?") || path.startsWith(f + "/")) {
                    String resource = f.substring(f.lastIndexOf('/') + 1);
                    return new MockResponse().setResponseCode(403).setHeader("Content-Type", "application/json").setBody("""
                            {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",\
                            "message":"%1$s is forbidden: User \\"system:serviceaccount:ray:federation\\" cannot list resource \\"%1$s\\" at the cluster scope",\
                            "reason":"Forbidden","details":{"kind":"%1$s"},"code":403}""".formatted(resource));
                }
            }
            return super.dispatch(request);
        }
    }
}
