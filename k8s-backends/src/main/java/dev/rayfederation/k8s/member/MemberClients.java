package dev.rayfederation.k8s.member;

import io.fabric8.kubernetes.api.model.NamedAuthInfo;
import io.fabric8.kubernetes.api.model.NamedContext;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.http.Interceptor;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import io.fabric8.kubernetes.client.utils.Serialization;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Opens the fabric8 client of one member: from its kubeconfig file and context, or fabric8's
 * auto-configuration when no kubeconfig is given (in a pod: the service account). A user's {@code tokenFile:} is
 * read again whenever the file changes ({@link TokenFile}). Always the JDK HTTP
 * client; timeouts and retries from {@link MemberClusterOptions}. Error messages name the file and the
 * context, never a credential.
 */
public final class MemberClients {

    /**
     * The first wait before fabric8 reconnects a lost watch. fabric8 doubles it five times at most, so the wait is
     * never longer than 32 × this: 4 seconds, and a member that comes back is seen within seconds (with the
     * former 1 second it was 32 seconds).
     */
    static final int WATCH_RECONNECT_INTERVAL_MS = 125;

    private MemberClients() {
    }

    /**
     * @throws IllegalArgumentException when the kubeconfig cannot be read or lacks the context
     */
    public static KubernetesClient open(MemberClusterSpec spec, MemberClusterOptions options) {
        return open(spec, options, Map.of());
    }

    /**
     * A client whose HTTP client also runs {@code interceptors} (name → interceptor, in order), e.g. the member's
     * Retry-After watch.
     *
     * @throws IllegalArgumentException when the kubeconfig cannot be read or lacks the context
     */
    public static KubernetesClient open(MemberClusterSpec spec, MemberClusterOptions options, Map<String, Interceptor> interceptors) {
        Map<String, Interceptor> ordered = new LinkedHashMap<>(interceptors);
        return new KubernetesClientBuilder()
                .withConfig(config(spec, options))
                .withHttpClientFactory(new JdkHttpClientFactory())
                .withHttpClientBuilderConsumer(b -> ordered.forEach(b::addOrReplaceInterceptor))
                .build();
    }

    /** The client configuration (exposed for tests and diagnostics; it holds credentials: never log it). */
    public static Config config(MemberClusterSpec spec, MemberClusterOptions options) {
        Config base = spec.kubeconfig() == null ? Config.autoConfigure(spec.context()) : fromKubeconfig(spec.kubeconfig(), spec.context());
        int requestMillis = (int) Math.min(Integer.MAX_VALUE, options.requestTimeout().toMillis());
        int connectMillis = (int) Math.min(requestMillis, options.startTimeout().toMillis());
        return new ConfigBuilder(base)
                .withRequestTimeout(requestMillis)
                .withConnectionTimeout(connectMillis)
                .withRequestRetryBackoffLimit(options.requestRetries())
                .withRequestRetryBackoffInterval(200)
                .withWatchReconnectInterval(WATCH_RECONNECT_INTERVAL_MS)
                .withWatchReconnectLimit(-1)
                .build();
    }

    /** The API server URL of {@code client} without user info (never a credential), or where its kubeconfig is. */
    static String server(KubernetesClient client, MemberClusterSpec spec) {
        if (client == null || client.getConfiguration() == null || client.getConfiguration().getMasterUrl() == null) {
            return spec.kubeconfig() == null ? "(in-cluster)" : "(from " + spec.kubeconfig() + ")";
        }
        String url = client.getConfiguration().getMasterUrl();
        try {
            URI u = URI.create(url);
            return new URI(u.getScheme(), null, u.getHost(), u.getPort(), u.getPath(), null, null).toString();
        } catch (Exception e) {
            return "(unparseable URL)";
        }
    }

    private static Config fromKubeconfig(Path file, String context) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read kubeconfig " + file + ": " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : " " + e.getMessage()));
        }
        io.fabric8.kubernetes.api.model.Config parsed;
        try {
            parsed = Serialization.unmarshal(text, io.fabric8.kubernetes.api.model.Config.class);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("kubeconfig " + file + " is not a valid kubeconfig file");
        }
        if (parsed == null) {
            throw new IllegalArgumentException("kubeconfig " + file + " is empty");
        }
        List<String> contexts = new ArrayList<>();
        if (parsed.getContexts() != null) {
            for (NamedContext c : parsed.getContexts()) {
                contexts.add(c.getName());
            }
        }
        String wanted = context != null ? context : parsed.getCurrentContext();
        if (wanted == null || wanted.isBlank()) {
            throw new IllegalArgumentException("kubeconfig " + file + " has no current-context; name one with 'context' (available: "
                    + String.join(", ", contexts) + ")");
        }
        if (!contexts.contains(wanted)) {
            throw new IllegalArgumentException("kubeconfig " + file + " has no context '" + wanted + "' (available: "
                    + String.join(", ", contexts) + ")");
        }
        Config config;
        try {
            config = Config.fromKubeconfig(wanted, file.toAbsolutePath().toFile());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("kubeconfig " + file + ", context '" + wanted + "': cannot be used ("
                    + e.getClass().getSimpleName() + ")");
        }
        TokenFile tokenFile = tokenFile(parsed, wanted, file);
        return tokenFile == null ? config : new ConfigBuilder(config).withOauthTokenProvider(tokenFile).build();
    }

    /** The context's user's {@code tokenFile} (relative to the kubeconfig's folder) when it has no inline token. */
    private static TokenFile tokenFile(io.fabric8.kubernetes.api.model.Config parsed, String context, Path kubeconfig) {
        String user = parsed.getContexts().stream().filter(c -> context.equals(c.getName())).findFirst()
                .map(c -> c.getContext() == null ? null : c.getContext().getUser()).orElse(null);
        if (user == null || parsed.getUsers() == null) {
            return null;
        }
        for (NamedAuthInfo u : parsed.getUsers()) {
            if (user.equals(u.getName()) && u.getUser() != null && u.getUser().getTokenFile() != null
                    && !u.getUser().getTokenFile().isBlank() && (u.getUser().getToken() == null || u.getUser().getToken().isBlank())) {
                Path path = Path.of(u.getUser().getTokenFile());
                Path dir = kubeconfig.toAbsolutePath().getParent();
                return new TokenFile(path.isAbsolute() || dir == null ? path : dir.resolve(path),
                        "kubeconfig " + kubeconfig + ", user '" + user + "', tokenFile");
            }
        }
        return null;
    }
}
