package dev.rayfederation.real;

import dev.rayfederation.k8s.render.WorkerPodContract;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rayfederation.sim.MemberSpec;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One real Kubernetes member cluster started by {@code scripts/lib/kube-member} (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler, kwok) in its own directory. Gives the paths the sidecar needs (its
 * token-only kubeconfig), an admin client for assertions and fault injection, and the audit log of the sidecar's
 * ServiceAccount.
 */
public final class RealMember {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final MemberSpec spec;
    private final Path dir;
    private final JsonNode state;
    private KubernetesClient admin;

    RealMember(MemberSpec spec, Path dir) {
        this.spec = spec;
        this.dir = dir;
        try {
            this.state = JSON.readTree(dir.resolve("member.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir.resolve("member.json"), e);
        }
    }

    public String name() {
        return spec.name();
    }

    public MemberSpec spec() {
        return spec;
    }

    public String namespace() {
        return state.path("namespace").asText();
    }

    public Path dir() {
        return dir;
    }

    /** {@code https://127.0.0.1:PORT}. */
    public String server() {
        return state.path("server").asText();
    }

    /** A kubeconfig holding only the API server, its CA and the sidecar ServiceAccount's token. */
    public Path sidecarKubeconfig() {
        return Path.of(state.path("sidecarKubeconfig").asText());
    }

    /** The sidecar ServiceAccount's token alone (the one in {@link #sidecarKubeconfig()}). */
    public Path sidecarTokenFile() {
        return Path.of(state.path("sidecarToken").asText());
    }

    /** Cluster admin (client certificate). */
    public Path adminKubeconfig() {
        return Path.of(state.path("adminKubeconfig").asText());
    }

    /** JSON lines, one per request of the sidecar's ServiceAccount. */
    public Path auditLog() {
        return Path.of(state.path("auditLog").asText());
    }

    /** The audit user name of the sidecar: {@code system:serviceaccount:NS:ray-federation}. */
    public String sidecarUser() {
        return state.path("serviceAccount").asText();
    }

    /** The kubeconfig context of both kubeconfigs: the member's name. */
    public String context() {
        return state.path("context").asText();
    }

    /** An admin client (fabric8, JDK HTTP client); closed with the members. */
    public synchronized KubernetesClient admin() {
        if (admin == null) {
            try {
                String kubeconfig = Files.readString(adminKubeconfig(), StandardCharsets.UTF_8);
                Config config = Config.fromKubeconfig(context(), kubeconfig, adminKubeconfig().toString());
                config.setNamespace(namespace());
                config.setRequestTimeout(30_000);
                admin = new KubernetesClientBuilder().withConfig(config).build();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + adminKubeconfig(), e);
            }
        }
        return admin;
    }

    /** Pods in the member's namespace carrying {@code app.kubernetes.io/managed-by=ray-federation}. */
    public List<Pod> workerPods() {
        return admin().pods().inNamespace(namespace())
                .withLabel(WorkerPodContract.LABEL_MANAGED_BY, WorkerPodContract.MANAGED_BY_VALUE).list().getItems();
    }

    /** The audit events logged so far (the policy logs only the sidecar's ServiceAccount). */
    public List<JsonNode> auditEvents() {
        List<JsonNode> out = new ArrayList<>();
        try {
            if (!Files.exists(auditLog())) {
                return out;
            }
            for (String line : Files.readAllLines(auditLog(), StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    try {
                        out.add(JSON.readTree(line));
                    } catch (IOException e) {
                        // a line being written right now
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + auditLog(), e);
        }
        return out;
    }

    /**
     * Stops one process of the member: {@code etcd}, {@code kube-apiserver}, {@code kube-controller-manager},
     * {@code kube-scheduler} or {@code kwok}. With {@code wait} false, only sends SIGTERM (the process may keep
     * serving for a while, as a real kube-apiserver does with its open watches).
     */
    public void stopComponent(String component, boolean wait) {
        List<String> args = new ArrayList<>(List.of("stop-component", dir.toString(), component));
        if (!wait) {
            args.add("--no-wait");
        }
        RealMembers.runScript(args, dir.resolve("fault.log"), java.time.Duration.ofSeconds(60));
    }

    /** Starts one stopped process again, same arguments and ports; for the API server, waits for /readyz. */
    public void startComponent(String component) {
        RealMembers.runScript(List.of("start-component", dir.toString(), component), dir.resolve("fault.log"),
                java.time.Duration.ofSeconds(150));
    }

    synchronized void closeClient() {
        if (admin != null) {
            admin.close();
            admin = null;
        }
    }

    @Override
    public String toString() {
        return name() + " (" + server() + ", " + dir + ")";
    }
}
