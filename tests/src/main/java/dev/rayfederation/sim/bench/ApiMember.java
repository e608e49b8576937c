package dev.rayfederation.sim.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A member Kubernetes API a benchmark runs against: fabric8's mock API server ({@link BenchMember}) or the lighter
 * one made for 100,000 pods ({@link LightMember}). Both serve HTTPS on a free loopback port.
 */
interface ApiMember extends AutoCloseable {

    /** Its name: the kubeconfig context and the member's name in the sidecar's configuration. */
    String name();

    int port();

    /** The server's self-signed certificate (PEM): the CA to trust. */
    Path caCert();

    /** Writes {@code <dir>/<name>.kubeconfig} for a client of {@code serverUrl} (this member, or a proxy before it). */
    Path writeKubeconfig(Path dir, String serverUrl);

    /** How many worker pods not being deleted carry each node id, now. */
    Map<String, Integer> workerPodsByNodeId();

    /**
     * Bytes this API server has read and written so far (request and response bodies and headers, watch events) and
     * the connections it accepted, as {@code {read, written, connections}}; null when it does not count them.
     */
    default long[] traffic() {
        return null;
    }

    @Override
    void close();

    /** The kubeconfig both kinds write: the member's certificate as CA, a dummy token, a context named after it. */
    static Path writeKubeconfig(Path dir, String name, String namespace, String serverUrl, Path caCert) {
        String yaml = "apiVersion: v1\nkind: Config\n"
                + "clusters:\n  - name: " + name + "\n    cluster:\n      server: " + serverUrl + "\n"
                + "      certificate-authority: " + caCert.toAbsolutePath() + "\n"
                + "contexts:\n  - name: " + name + "\n    context:\n      cluster: " + name + "\n      user: " + name + "\n"
                + "      namespace: " + namespace + "\n"
                + "current-context: " + name + "\n"
                + "users:\n  - name: " + name + "\n    user:\n      token: bench-token\n";
        try {
            Files.createDirectories(dir);
            Path file = dir.resolve(name + ".kubeconfig");
            Files.writeString(file, yaml);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the kubeconfig of member " + name + " into " + dir, e);
        }
    }
}
