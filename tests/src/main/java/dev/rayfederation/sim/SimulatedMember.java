package dev.rayfederation.sim;

import dev.rayfederation.k8s.render.ProbePodRenderer;
import dev.rayfederation.k8s.render.WorkerPodContract;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddressBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeConditionBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.TaintBuilder;
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

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One simulated member Kubernetes cluster: a fabric8 {@link KubernetesMockServer} in CRUD mode on a free loopback
 * port, seeded with a namespace and {@link NodeSpec Nodes}. It serves plain HTTP at {@code http://127.0.0.1:<port>}
 * and writes a kubeconfig whose context is named after the member.
 *
 * <p>{@link #stop()} and {@link #start()} take the API server down and bring it back <em>on the same port with the
 * same stored objects</em> (the CRUD store lives in the dispatcher, which outlives the HTTP server): that is how an
 * outage of a member is simulated. Open watches are cut by the stop; clients reconnect after the start.
 *
 * <p>Where the CRUD mock (fabric8 7.8.0) differs from a real API server, so this does too: no admission, no
 * defaulting, no binding subresource; no graceful deletion (a pod without finalizers disappears at once); a plain
 * PUT of a pod also replaces its status (there is no status subresource for built-in kinds); strategic-merge patches
 * are refused with 415; a JSON merge patch APPENDS to lists instead of replacing them; field selectors on fields
 * other than metadata are only partly honoured (an {@code =} on {@code status.phase} matches nothing, a {@code !=}
 * matches everything).
 */
public final class SimulatedMember implements AutoCloseable {

    /** The mock server logs every request at INFO through java.util.logging: keep a strong reference to quiet it. */
    private static final Logger MOCK_LOG = Logger.getLogger("io.fabric8.mockwebserver");

    static {
        MOCK_LOG.setLevel(Level.WARNING);
    }

    private final MemberSpec spec;
    private final int index;
    private final Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
    private final KubernetesMixedDispatcher dispatcher = new KubernetesMixedDispatcher(responses);
    private final Map<String, NodeSpec> nodes = new ConcurrentHashMap<>();
    private final AtomicInteger hostCounter = new AtomicInteger();
    private KubernetesMockServer server;
    private KubernetesClient client;
    private int port;
    private Path kubeconfig;

    private SimulatedMember(MemberSpec spec, int index) {
        this.spec = spec;
        this.index = index;
    }

    /**
     * Starts the member's API server on a free loopback port and seeds its namespace and nodes.
     *
     * @param index small number unique among the members of one run (0, 1, ...): pod IPs are 10.(index+1).x.y
     */
    public static SimulatedMember start(MemberSpec spec, int index) {
        SimulatedMember member = new SimulatedMember(spec, index);
        member.start();
        try {
            member.seed();
        } catch (RuntimeException e) {
            member.close();
            throw e;
        }
        return member;
    }

    private void seed() {
        Namespace ns = new NamespaceBuilder().withNewMetadata().withName(spec.namespace()).endMetadata().build();
        client.namespaces().resource(ns).create();
        for (NodeSpec n : spec.nodes()) {
            addNode(n);
        }
    }

    /** (Re)starts the API server: the first time on a free port, afterwards on the same port, keeping all objects. */
    public synchronized void start() {
        if (server != null) {
            return;
        }
        KubernetesMockServer s = new KubernetesMockServer(new Context(), new MockWebServer(), responses, dispatcher, false);
        s.start(InetAddress.getLoopbackAddress(), port);
        server = s;
        if (port == 0) {
            port = s.getPort();
            client = newClient();
        }
    }

    /** Takes the API server down (connections refused) keeping every stored object for {@link #start()}. */
    public synchronized void stop() {
        if (server != null) {
            server.shutdown();
            server = null;
        }
    }

    public synchronized boolean isRunning() {
        return server != null;
    }

    public MemberSpec spec() {
        return spec;
    }

    public String name() {
        return spec.name();
    }

    public int index() {
        return index;
    }

    public String namespace() {
        return spec.namespace();
    }

    public int port() {
        return port;
    }

    /** The API server URL, {@code http://127.0.0.1:<port>}. */
    public String url() {
        return "http://127.0.0.1:" + port;
    }

    /** A client for this member (shared; do not close it). */
    public KubernetesClient client() {
        return client;
    }

    /** A new client for this member; the caller closes it. */
    public KubernetesClient newClient() {
        Config config = new ConfigBuilder(Config.empty())
                .withMasterUrl(url())
                .withOauthToken("sim-token-" + spec.name())
                .withNamespace(spec.namespace())
                .withHttp2Disable(true)
                .withRequestRetryBackoffLimit(2)
                .withRequestRetryBackoffInterval(200)
                .withConnectionTimeout(5_000)
                .withRequestTimeout(10_000)
                .build();
        return new KubernetesClientBuilder().withConfig(config).build();
    }

    /** The kubeconfig written by {@link #writeKubeconfig(Path)}, or null before. */
    public Path kubeconfig() {
        return kubeconfig;
    }

    /** The kubeconfig context name: the member's name. */
    public String context() {
        return spec.name();
    }

    /**
     * Writes {@code <dir>/<member>.kubeconfig}: one cluster (server {@link #url()}), one context named after the
     * member (default namespace the member's), one user with a dummy token.
     */
    public Path writeKubeconfig(Path dir) {
        kubeconfig = writeKubeconfig(dir, url());
        return kubeconfig;
    }

    /**
     * Writes {@code <dir>/<member>.kubeconfig} as {@link #writeKubeconfig(Path)} does, reaching {@code server}
     * instead (a proxy in front of this member); {@link #kubeconfig()} stays as it is.
     */
    public Path writeKubeconfig(Path dir, String server) {
        String n = spec.name();
        String yaml = "apiVersion: v1\n"
                + "kind: Config\n"
                + "clusters:\n"
                + "  - name: " + n + "\n"
                + "    cluster:\n"
                + "      server: " + server + "\n"
                + "contexts:\n"
                + "  - name: " + n + "\n"
                + "    context:\n"
                + "      cluster: " + n + "\n"
                + "      user: " + n + "\n"
                + "      namespace: " + spec.namespace() + "\n"
                + "current-context: " + n + "\n"
                + "users:\n"
                + "  - name: " + n + "\n"
                + "    user:\n"
                + "      token: sim-token-" + n + "\n";
        try {
            Files.createDirectories(dir);
            Path file = dir.resolve(n + ".kubeconfig");
            Files.writeString(file, yaml);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the kubeconfig of member " + n + " into " + dir, e);
        }
    }

    /** Creates a Node (Ready unless the spec says otherwise); the kubelet retries waiting pods on it. */
    public Node addNode(NodeSpec n) {
        Node node = client.nodes().resource(toNode(n)).create();
        nodes.put(n.name(), n);
        return node;
    }

    /** Deletes a Node; pods bound to it stay as they are (as with a real API server). */
    public void removeNode(String name) {
        client.nodes().withName(name).delete();
        nodes.remove(name);
    }

    /** Sets the Node's Ready condition. */
    public void setNodeReady(String name, boolean ready) {
        client.nodes().withName(name).edit(node -> {
            node.getStatus().getConditions().stream().filter(c -> "Ready".equals(c.getType()))
                    .forEach(c -> c.setStatus(ready ? "True" : "False"));
            return node;
        });
        nodes.computeIfPresent(name, (k, v) -> v.withReady(ready));
    }

    /** Cordons ({@code true}) or uncordons the Node. */
    public void cordon(String name, boolean cordoned) {
        client.nodes().withName(name).edit(node -> {
            node.getSpec().setUnschedulable(cordoned ? Boolean.TRUE : null);
            return node;
        });
        nodes.computeIfPresent(name, (k, v) -> v.withUnschedulable(cordoned));
    }

    /** The node specs currently seeded (as created or changed through this object). */
    public List<NodeSpec> nodeSpecs() {
        List<NodeSpec> out = new ArrayList<>(nodes.values());
        out.sort(java.util.Comparator.comparing(NodeSpec::name));
        return out;
    }

    /**
     * Pods in the member's namespace carrying {@code app.kubernetes.io/managed-by=ray-federation}, but for the
     * network preflight's probe pods ({@link #probePods()}).
     */
    public List<Pod> workerPods() {
        return client.pods().inNamespace(spec.namespace())
                .withLabel(WorkerPodContract.LABEL_MANAGED_BY, WorkerPodContract.MANAGED_BY_VALUE)
                .withoutLabel(ProbePodRenderer.LABEL_PREFLIGHT_OF).list().getItems();
    }

    /** The network preflight's probe pods in the member's namespace. */
    public List<Pod> probePods() {
        return client.pods().inNamespace(spec.namespace()).withLabel(ProbePodRenderer.LABEL_PREFLIGHT_OF).list().getItems();
    }

    private Node toNode(NodeSpec n) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put("kubernetes.io/hostname", n.name());
        labels.put("kubernetes.io/os", "linux");
        labels.put("kubernetes.io/arch", "amd64");
        if (spec.region() != null) {
            labels.put("topology.kubernetes.io/region", spec.region());
        }
        if (spec.zone() != null) {
            labels.put("topology.kubernetes.io/zone", spec.zone());
        }
        labels.putAll(n.labels());
        Map<String, Quantity> resources = new LinkedHashMap<>();
        n.allocatable().forEach((k, v) -> resources.put(k, new Quantity(v)));
        String now = Instant.now().toString();
        return new NodeBuilder()
                .withNewMetadata().withName(n.name()).withLabels(labels).endMetadata()
                .withNewSpec()
                .withUnschedulable(n.unschedulable() ? Boolean.TRUE : null)
                .withTaints(n.taints().stream()
                        .map(t -> new TaintBuilder().withKey(t.key()).withValue(t.value()).withEffect(t.effect()).build())
                        .toList())
                .endSpec()
                .withNewStatus()
                .withCapacity(resources)
                .withAllocatable(resources)
                .withConditions(new NodeConditionBuilder().withType("Ready").withStatus(n.ready() ? "True" : "False")
                        .withReason(n.ready() ? "KubeletReady" : "KubeletNotReady")
                        .withLastHeartbeatTime(now).withLastTransitionTime(now).build())
                .withAddresses(new NodeAddressBuilder().withType("InternalIP")
                                .withAddress("192.168." + (index + 1) + "." + (hostCounter.incrementAndGet() % 250)).build(),
                        new NodeAddressBuilder().withType("Hostname").withAddress(n.name()).build())
                .withNewNodeInfo().withKubeletVersion("v1.31.0-sim").withOperatingSystem("linux")
                .withArchitecture("amd64").withContainerRuntimeVersion("sim://1.0").endNodeInfo()
                .endStatus()
                .build();
    }

    @Override
    public synchronized void close() {
        if (client != null) {
            client.close();
        }
        stop();
    }

    @Override
    public String toString() {
        return spec.name() + "@" + url();
    }
}
