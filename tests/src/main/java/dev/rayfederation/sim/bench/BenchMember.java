package dev.rayfederation.sim.bench;

import dev.rayfederation.k8s.render.WorkerPodContract;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddressBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeConditionBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One member Kubernetes API for benchmarks: a fabric8 mock API server in CRUD mode serving HTTPS (as real API
 * servers do, and as Ray's KubeRay provider insists on) on a free loopback port, with its self-signed certificate
 * (valid for 127.0.0.1) written where clients can trust it, a namespace and identical Ready nodes.
 */
public final class BenchMember implements ApiMember {

    /** The mock server logs every request through java.util.logging: keep a strong reference to quiet it. */
    private static final Logger MOCK_LOG = Logger.getLogger("io.fabric8.mockwebserver");

    static {
        MOCK_LOG.setLevel(Level.WARNING);
    }

    /**
     * @param name      member name (kubeconfig context)
     * @param cloud     its cloud (the sidecar's breaker group)
     * @param namespace where worker pods go
     * @param nodes     how many identical nodes to seed
     * @param nodeCpu   cores per node
     * @param nodeMemory memory per node, a quantity
     * @param maxPods   pods per node
     */
    public record Spec(String name, String cloud, String namespace, int nodes, int nodeCpu, String nodeMemory, int maxPods) {
    }

    private final Spec spec;
    private final KubernetesMockServer server;
    private final MockWebServer web;
    private final KubernetesClient client;
    private final Path caCert;

    private BenchMember(Spec spec) {
        this.spec = spec;
        Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
        this.web = new MockWebServer();
        this.server = new KubernetesMockServer(new Context(), web, responses, new KubernetesMixedDispatcher(responses), true);
        server.start(InetAddress.getLoopbackAddress(), 0);
        this.caCert = Path.of(web.getSelfSignedCertificate().certificatePath());
        this.client = newClient(20_000);
    }

    /** Starts the API server and seeds the namespace and nodes. */
    public static BenchMember start(Spec spec) {
        BenchMember m = new BenchMember(spec);
        try {
            m.client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(spec.namespace())
                    .endMetadata().build()).create();
            for (int i = 0; i < spec.nodes(); i++) {
                m.client.nodes().resource(m.node(spec.name() + "-n" + i, i)).create();
            }
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
        return m;
    }

    public Spec spec() {
        return spec;
    }

    @Override
    public String name() {
        return spec.name();
    }

    @Override
    public int port() {
        return server.getPort();
    }

    /** {@code https://127.0.0.1:<port>}. */
    public String url() {
        return "https://127.0.0.1:" + port();
    }

    /** The server's self-signed certificate (PEM): the CA to trust. */
    @Override
    public Path caCert() {
        return caCert;
    }

    /** A shared client of this member (trusting its certificate); do not close it. */
    public KubernetesClient client() {
        return client;
    }

    /** A new client with the given request timeout; the caller closes it. */
    public KubernetesClient newClient(int requestTimeoutMillis) {
        Config config = new ConfigBuilder(Config.empty())
                .withMasterUrl(url())
                .withCaCertFile(caCert.toString())
                .withOauthToken("bench-token")
                .withNamespace(spec.namespace())
                .withRequestTimeout(requestTimeoutMillis)
                .withConnectionTimeout(5_000)
                .withRequestRetryBackoffLimit(3)
                .build();
        return new KubernetesClientBuilder().withConfig(config).build();
    }

    /**
     * Writes {@code <dir>/<member>.kubeconfig} for a client of {@code server} (this member's URL, or a proxy in front
     * of it): the member's certificate as CA, a dummy token, a context named after the member.
     */
    @Override
    public Path writeKubeconfig(Path dir, String serverUrl) {
        return ApiMember.writeKubeconfig(dir, spec.name(), spec.namespace(), serverUrl, caCert);
    }

    @Override
    public Map<String, Integer> workerPodsByNodeId() {
        Map<String, Integer> out = new HashMap<>();
        for (Pod p : pods()) {
            Map<String, String> labels = p.getMetadata().getLabels();
            String id = labels == null ? null : labels.get(WorkerPodContract.LABEL_NODE_ID);
            if (id != null && p.getMetadata().getDeletionTimestamp() == null) {
                out.merge(id, 1, Integer::sum);
            }
        }
        return out;
    }

    /** Every pod in the member's namespace. */
    public List<Pod> pods() {
        return client.pods().inNamespace(spec.namespace()).list().getItems();
    }

    private Node node(String name, int index) {
        Map<String, Quantity> resources = Map.of("cpu", new Quantity(Integer.toString(spec.nodeCpu())),
                "memory", new Quantity(spec.nodeMemory()), "pods", new Quantity(Integer.toString(spec.maxPods())));
        String now = Instant.now().toString();
        return new NodeBuilder()
                .withNewMetadata().withName(name).withLabels(Map.of("kubernetes.io/hostname", name)).endMetadata()
                .withNewSpec().endSpec()
                .withNewStatus()
                .withCapacity(resources)
                .withAllocatable(resources)
                .withConditions(new NodeConditionBuilder().withType("Ready").withStatus("True").withReason("KubeletReady")
                        .withLastHeartbeatTime(now).withLastTransitionTime(now).build())
                .withAddresses(new NodeAddressBuilder().withType("InternalIP")
                        .withAddress("192.168." + (index / 250) + "." + (index % 250 + 1)).build())
                .endStatus()
                .build();
    }

    @Override
    public void close() {
        client.close();
        try {
            server.shutdown();
        } catch (IllegalStateException e) {
            // fabric8's mock server can block its event loop closing a watch that was mid-send
            // (seen under CI load); the member is the harness's, its figures are already taken.
            System.err.println("bench: member " + name() + " did not shut down cleanly: " + e.getMessage());
        }
    }
}
