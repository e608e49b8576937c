package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.rayfederation.sim.SidecarConfig.Pool;
import dev.rayfederation.sim.SidecarConfig.VirtualCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

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
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The sidecar jar's logging as a log pipeline sees it: with {@code RAY_FEDERATION_LOG_FORMAT=json} every line on
 * stderr is one JSON object, {@code RAY_FEDERATION_LOG_LEVEL} sets the levels, no secret reaches the log even at
 * debug, and a bad value stops the process at once with the variable named.
 */
class LoggingE2ETest {

    private static final Duration DEADLINE = Duration.ofSeconds(90);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Set<String> LEVELS = Set.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR");

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private SimulatedMembers members;
    private Process sidecar;

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
    @DisplayName("RAY_FEDERATION_LOG_FORMAT=json: every stderr line is a JSON object with time, level, logger, thread and message;"
            + " at debug no token reaches it")
    void jsonLinesWithoutSecrets() throws Exception {
        members = SimulatedMembers.start(List.of(MemberSpec.of("m1", "aws", "r1", "z1")
                .withNodes(2, "n", n -> NodeSpec.of(n, 8, "32Gi"))), dir.resolve("members"));
        String token = randomHex(32);
        String kubeconfigToken = randomHex(24);
        int apiPort = SidecarProcess.freePort();
        int managementPort = SidecarProcess.freePort();
        Path config = writeConfig(apiPort, managementPort, token, kubeconfigToken);
        Path out = dir.resolve("stdout.log");
        Path err = dir.resolve("stderr.log");

        // debug everywhere, and trace asked for fabric8's HTTP logging, which would print request headers
        sidecar = launch(config, Map.of("RAY_FEDERATION_LOG_FORMAT", "json",
                "RAY_FEDERATION_LOG_LEVEL", "debug,io.fabric8.kubernetes.client.http=trace"), out, err);
        URI management = URI.create("http://127.0.0.1:" + managementPort);
        await("the sidecar is ready").atMost(DEADLINE).ignoreExceptions().untilAsserted(() -> {
            assertThat(sidecar.isAlive()).as("alive; stderr:\n%s", Files.readString(err)).isTrue();
            assertThat(http.send(HttpRequest.newBuilder(management.resolve("/readyz")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        });
        SidecarApi api = new SidecarApi(URI.create("http://127.0.0.1:" + apiPort), token);
        List<String> ids = SidecarApi.created(api.createNodes("cpu", 2, "logged", SidecarApi.rayTags("cpu")));
        assertThat(ids).hasSize(2);
        await("2 workers up-to-date").atMost(DEADLINE).untilAsserted(() -> assertThat(api.getNodes().body()
                .path("nodes").findValuesAsText("status")).containsExactly("up-to-date", "up-to-date"));
        assertThat(api.terminate(List.of(ids.get(0))).status()).isEqualTo(200);
        assertThat(new SidecarApi(api.base(), "wrong-" + token).getNodes().status()).isEqualTo(401);
        sidecar.destroy(); // SIGTERM: the shutdown path logs too
        assertThat(sidecar.waitFor(30, TimeUnit.SECONDS)).as("stopped after SIGTERM").isTrue();

        List<String> lines = Files.readAllLines(err, StandardCharsets.UTF_8);
        List<JsonNode> records = new ArrayList<>();
        for (String line : lines) {
            JsonNode json = parse(line);
            assertThat(json).as("a JSON object: %s", line).isNotNull();
            assertThat(json.isObject()).as("a JSON object: %s", line).isTrue();
            assertThat(Instant.parse(json.path("time").asText())).as("time of %s", line).isNotNull();
            assertThat(json.path("level").asText()).as("level of %s", line).isIn(LEVELS);
            assertThat(json.path("logger").asText()).as("logger of %s", line).isNotBlank();
            assertThat(json.path("thread").asText()).as("thread of %s", line).isNotBlank();
            assertThat(json.path("message").isTextual()).as("message of %s", line).isTrue();
            records.add(json);
        }
        assertThat(Files.readString(out)).as("stdout").isEmpty();
        assertThat(records).extracting(r -> r.path("message").asText())
                .anySatisfy(m -> assertThat(m).startsWith("node-provider API on http://127.0.0.1:" + apiPort))
                .anySatisfy(m -> assertThat(m).contains("terminating 1 node(s)"))
                .anySatisfy(m -> assertThat(m).isEqualTo("shutting down"));
        assertThat(records).extracting(r -> r.path("level").asText()).as("debug is on").contains("DEBUG");
        assertThat(records).filteredOn(r -> r.path("logger").asText().endsWith("HttpLoggingInterceptor")
                        && r.path("level").asText().matches("TRACE|DEBUG"))
                .as("fabric8's HTTP logging below info").isEmpty();
        String all = String.join("\n", lines);
        assertThat(all).doesNotContain(token).doesNotContain(kubeconfigToken);
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
            "RAY_FEDERATION_LOG_FORMAT|xml|ray-federation: RAY_FEDERATION_LOG_FORMAT: 'xml' is not text or json",
            "RAY_FEDERATION_LOG_LEVEL|info,dev.rayfederation=loud|ray-federation: RAY_FEDERATION_LOG_LEVEL: 'loud' in 'dev.rayfederation=loud' is not one of trace, debug, info, warn, error, off",
            "RAY_FEDERATION_LOG_LEVEL|=debug|ray-federation: RAY_FEDERATION_LOG_LEVEL: '' in '=debug' is not a logger name (a package or class, like dev.rayfederation.k8s)",
    })
    @DisplayName("a bad log setting exits 2 at once with the variable and the value named, on stderr")
    void badValueExits2(String variable, String value, String message) throws Exception {
        Path config = Files.writeString(dir.resolve("never-read.yaml"), "not: read\n");
        Path out = dir.resolve("stdout.log");
        Path err = dir.resolve("stderr.log");

        sidecar = launch(config, Map.of(variable, value), out, err);

        assertThat(sidecar.waitFor(60, TimeUnit.SECONDS)).as("exited").isTrue();
        assertThat(sidecar.exitValue()).as("exit status; stderr: %s", Files.readString(err)).isEqualTo(2);
        assertThat(Files.readString(err).strip()).isEqualTo(message);
        assertThat(Files.readString(out)).isEmpty();
    }

    private static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (Exception e) {
            return null;
        }
    }

    /** One pool "cpu" on the simulated members, the API behind {@code token}, m1's kubeconfig holding {@code kubeconfigToken}. */
    private Path writeConfig(int apiPort, int managementPort, String token, String kubeconfigToken) throws Exception {
        SimulatedMember m1 = members.member("m1");
        Path kubeconfig = Files.writeString(dir.resolve("m1-secret.kubeconfig"),
                Files.readString(m1.kubeconfig()).replace("sim-token-m1", kubeconfigToken));
        assertThat(Files.readString(kubeconfig)).contains(kubeconfigToken);
        SidecarConfig config = SidecarConfig.forMembers(members)
                .withCluster("m1", c -> c.with("kubeconfig", kubeconfig.toAbsolutePath().toString()))
                .withVirtualCluster(VirtualCluster.of("vc"))
                .withPool(Pool.of("cpu", "vc", Map.of("CPU", 1, "memory", "1Gi")));
        Path tokenFile = Files.writeString(dir.resolve("api-token"), token + "\n");
        Map<String, Object> tree = new LinkedHashMap<>(config.toTree("127.0.0.1:" + apiPort, "127.0.0.1:" + managementPort));
        tree.put("api", Map.of("listen", "127.0.0.1:" + apiPort, "tokenFile", tokenFile.toAbsolutePath().toString()));
        return Files.writeString(dir.resolve("sidecar.yaml"), YAML.writeValueAsString(tree));
    }

    private Process launch(Path config, Map<String, String> env, Path out, Path err) throws Exception {
        Path jar = RepoRoot.sidecarJar();
        SidecarProcess.requireRunnableJar(jar);
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:+UseSerialGC", "-jar", jar.toString(), "--config", config.toString())
                .directory(dir.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().remove("RAY_FEDERATION_LOG_FORMAT");
        pb.environment().remove("RAY_FEDERATION_LOG_LEVEL");
        pb.environment().putAll(env);
        return pb.start();
    }

    private static String randomHex(int bytes) {
        byte[] b = new byte[bytes];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
