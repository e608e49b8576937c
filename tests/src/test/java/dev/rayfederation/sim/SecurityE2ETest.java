package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.rayfederation.sim.SidecarConfig.Pool;
import dev.rayfederation.sim.SidecarConfig.VirtualCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The node-provider API's security defaults, seen from outside the process: a bearer token guards every /v1
 * endpoint, the API refuses to start open to the network without one, and neither that token nor a member's
 * kubeconfig credentials ever reach the log.
 */
class SecurityE2ETest {

    private static final Duration DEADLINE = Duration.ofSeconds(90);
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    /** slf4j-simple at debug for every logger (fabric8's HTTP logging at trace would show request headers). */
    private static final List<String> DEBUG_LOG = List.of("-Dorg.slf4j.simpleLogger.defaultLogLevel=debug");

    /** Every /v1 route: method, path and a body that would be valid with the right token. */
    private static final List<Call> V1_CALLS = List.of(
            new Call("GET", "/v1/nodes", null),
            new Call("POST", "/v1/nodes", "{\"nodeType\":\"cpu\",\"count\":1,\"requestId\":\"sneaky\",\"tags\":{}}"),
            new Call("POST", "/v1/nodes:terminate", "{\"ids\":[\"any\"]}"),
            new Call("PUT", "/v1/nodes/any/tags", "{\"tags\":{\"k\":\"v\"}}"),
            new Call("GET", "/v1/node-types", null),
            new Call("GET", "/v1/clusters", null),
            new Call("GET", "/v1/pools", null),
            new Call("GET", "/v1/openapi.yaml", null),
            new Call("GET", "/v1/events", null));

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private SimulatedMembers members;
    private Process sidecar;

    record Call(String method, String path, String body) {
    }

    @AfterEach
    void stopEverything() {
        if (sidecar != null && sidecar.isAlive()) {
            sidecar.destroyForcibly();
        }
        if (members != null) {
            members.close();
        }
    }

    @Test
    @DisplayName("every /v1 endpoint answers 401 without the token or with a wrong one, and creates nothing")
    void everyEndpointNeedsTheToken() throws Exception {
        String token = randomHex(32);
        Running s = startWithToken(token, List.of());

        for (Call call : V1_CALLS) {
            for (Map.Entry<String, String> auth : badCredentials(token).entrySet()) {
                HttpResponse<String> r = send(s.api(), call, auth.getValue());
                assertThat(r.statusCode()).as("%s %s with %s: %s", call.method(), call.path(), auth.getKey(), r.body())
                        .isEqualTo(401);
                assertThat(r.headers().firstValue("WWW-Authenticate")).as("challenge").hasValue("Bearer");
                assertThat(SidecarApi.JSON.readTree(r.body()).path("error").path("code").asText()).isEqualTo("unauthorized");
            }
        }
        assertThat(members.member("m1").workerPods()).as("pods after refused creates").isEmpty();

        SidecarApi withToken = new SidecarApi(s.api(), token);
        assertThat(withToken.getNodes().body().path("nodes").size()).as("nodes after refused creates").isZero();
        assertThat(withToken.nodeTypes().status()).isEqualTo(200);
        SidecarApi.Response created = withToken.createNodes("cpu", 1, "allowed", Map.of("ray-user-node-type", "cpu"));
        assertThat(created.status()).as("%s", created).isEqualTo(201);
        assertThat(send(s.api(), V1_CALLS.get(7), "Bearer " + token).statusCode()).isEqualTo(200);
    }

    @Test
    @DisplayName("neither the API token nor a member's kubeconfig token reach the log, even at level debug")
    void secretsNeverReachTheLog() throws Exception {
        String token = randomHex(32);
        Running s = startWithToken(token, DEBUG_LOG);
        SidecarApi withToken = new SidecarApi(s.api(), token);
        assertThat(withToken.createNodes("cpu", 2, "logged", Map.of("ray-user-node-type", "cpu")).status()).isEqualTo(201);
        await("2 workers up-to-date").atMost(DEADLINE).untilAsserted(() -> assertThat(withToken.getNodes().body()
                .path("nodes").findValuesAsText("status")).containsExactly("up-to-date", "up-to-date"));
        for (Call call : V1_CALLS) {
            badCredentials(token).values().forEach(auth -> send(s.api(), call, auth));
        }
        sidecar.destroy(); // SIGTERM: the shutdown path logs too
        assertThat(sidecar.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String checkConfig = runToCompletion(List.of("--config", s.config().toString(), "--check-config"));

        String log = Files.readString(s.log(), StandardCharsets.UTF_8);
        assertThat(log).as("the log says what it did, in detail").contains("shutting down").contains(" DEBUG ");
        assertThat(checkConfig).contains("configuration is valid").contains(s.tokenFile().toString());
        for (String output : List.of(log, checkConfig)) {
            assertThat(output).doesNotContain(token).doesNotContain(s.kubeconfigToken());
            badCredentials(token).values().stream().filter(v -> v != null && v.length() > "Bearer ".length())
                    .forEach(v -> assertThat(output).doesNotContain(v.substring(v.indexOf(' ') + 1)));
        }
    }

    @Test
    @DisplayName("an API listening beyond loopback without a token refuses to start, naming api.tokenFile, before opening any port")
    void openListenWithoutATokenRefusesToStart() throws Exception {
        members = SimulatedMembers.start(List.of(MemberSpec.of("m1", "aws", "r1", "z1")
                .withNodes(1, "n", n -> NodeSpec.of(n, 8, "32Gi"))), dir.resolve("members"));
        int apiPort = SidecarProcess.freePort();
        int managementPort = SidecarProcess.freePort();
        Path config = writeConfig("0.0.0.0:" + apiPort, managementPort, null);
        Path log = dir.resolve("refused.log");

        sidecar = launch(List.of(), List.of("--config", config.toString()), log);
        List<Integer> opened = new ArrayList<>();
        Instant deadline = Instant.now().plus(DEADLINE);
        while (!sidecar.waitFor(5, TimeUnit.MILLISECONDS)) {
            assertThat(Instant.now()).as("the sidecar should have exited; output:\n%s", Files.readString(log))
                    .isBefore(deadline);
            for (int port : new int[] {apiPort, managementPort}) {
                if (accepts(port)) {
                    opened.add(port);
                }
            }
        }

        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(sidecar.exitValue()).as("exit status; output:\n%s", output).isNotZero();
        assertThat(output).contains("api.tokenFile: required when api.listen is not a loopback address (0.0.0.0:" + apiPort + ")");
        assertThat(opened).as("ports that accepted a connection while it ran").isEmpty();
        assertThat(output).doesNotContain("node-provider API on");
    }

    // ------------------------------------------------------------------ the sidecar as a process

    /** A running sidecar: its API base URL, config, token file, log, and the bearer token in its member kubeconfig. */
    record Running(URI api, Path config, Path tokenFile, Path log, String kubeconfigToken) {
    }

    private Running startWithToken(String token, List<String> jvmArgs) throws Exception {
        members = SimulatedMembers.start(List.of(MemberSpec.of("m1", "aws", "r1", "z1")
                .withNodes(2, "n", n -> NodeSpec.of(n, 8, "32Gi"))), dir.resolve("members"));
        Path tokenFile = Files.writeString(dir.resolve("api-token"), token + "\n");
        int apiPort = SidecarProcess.freePort();
        int managementPort = SidecarProcess.freePort();
        Path config = writeConfig("127.0.0.1:" + apiPort, managementPort, tokenFile);
        String kubeconfigToken = randomHex(24);
        SimulatedMember m1 = members.member("m1");
        Path kubeconfig = Files.writeString(dir.resolve("m1-secret.kubeconfig"),
                Files.readString(m1.kubeconfig()).replace("sim-token-m1", kubeconfigToken));
        Files.writeString(config, Files.readString(config).replace(m1.kubeconfig().toAbsolutePath().toString(),
                kubeconfig.toAbsolutePath().toString()));
        assertThat(Files.readString(config)).contains(kubeconfig.toAbsolutePath().toString());
        Path log = dir.resolve("sidecar.log");
        sidecar = launch(jvmArgs, List.of("--config", config.toString()), log);
        URI management = URI.create("http://127.0.0.1:" + managementPort);
        await("the sidecar is ready").atMost(DEADLINE).ignoreExceptions().untilAsserted(() -> {
            assertThat(sidecar.isAlive()).as("alive; log:\n%s", Files.readString(log)).isTrue();
            assertThat(http.send(HttpRequest.newBuilder(management.resolve("/readyz")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        });
        return new Running(URI.create("http://127.0.0.1:" + apiPort), config, tokenFile, log, kubeconfigToken);
    }

    /** The sidecar config for the simulated members: one pool "cpu"; tokenFile null for none. */
    private Path writeConfig(String apiListen, int managementPort, Path tokenFile) throws IOException {
        SidecarConfig config = SidecarConfig.forMembers(members)
                .withVirtualCluster(VirtualCluster.of("vc"))
                .withPool(Pool.of("cpu", "vc", Map.of("CPU", 1, "memory", "1Gi")));
        Map<String, Object> tree = new LinkedHashMap<>(config.toTree(apiListen, "127.0.0.1:" + managementPort));
        if (tokenFile != null) {
            tree.put("api", Map.of("listen", apiListen, "tokenFile", tokenFile.toAbsolutePath().toString()));
        }
        return Files.writeString(dir.resolve("sidecar-" + managementPort + ".yaml"), YAML.writeValueAsString(tree));
    }

    private Process launch(List<String> jvmArgs, List<String> args, Path log) throws IOException {
        Path jar = RepoRoot.sidecarJar();
        SidecarProcess.requireRunnableJar(jar);
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:+UseSerialGC"));
        command.addAll(jvmArgs);
        command.add("-jar");
        command.add(jar.toString());
        command.addAll(args);
        return new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    private String runToCompletion(List<String> args) throws Exception {
        Path log = dir.resolve("run-" + Instant.now().toEpochMilli() + ".log");
        Process p = launch(DEBUG_LOG, args, log);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("finished within 60 s").isTrue();
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as("exit status; output:\n%s", output).isZero();
        return output;
    }

    // ------------------------------------------------------------------ HTTP

    /** No header, a wrong token of the same length, a prefix of the token, the token with another scheme. */
    private static Map<String, String> badCredentials(String token) {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("no Authorization header", null);
        out.put("a wrong token of the same length",
                "Bearer " + token.substring(0, token.length() - 1) + (token.endsWith("0") ? "1" : "0"));
        out.put("a prefix of the token", "Bearer " + token.substring(0, token.length() / 2));
        out.put("the token with scheme Basic", "Basic " + token);
        out.put("an empty bearer token", "Bearer ");
        return out;
    }

    private HttpResponse<String> send(URI base, Call call, String authorization) {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(call.path())).timeout(Duration.ofSeconds(30))
                .method(call.method(), call.body() == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(call.body()));
        if (call.body() != null) {
            b.header("Content-Type", "application/json");
        }
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        try {
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException(call + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static String randomHex(int bytes) {
        byte[] b = new byte[bytes];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
