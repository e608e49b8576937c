package dev.rayfederation.sidecar.config;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The {@code preflight} section: its defaults, and every bad value named by its field. */
class PreflightConfigTest {

    /** Valid, without preflight; cases add to it. */
    private static final String BASE = """
            rayCluster: {name: demo, headAddress: 10.0.0.12:6379}
            clusters: [{name: aws-use1, kubeconfig: kc-aws}]
            virtualClusters: [{name: vc}]
            pools: [{name: cpu, virtualCluster: vc, resources: {CPU: 1}}]
            """;

    @TempDir
    Path dir;

    @BeforeEach
    void writeKubeconfig() throws IOException {
        Files.writeString(dir.resolve("kc-aws"), "apiVersion: v1\n");
    }

    private FederationConfig load(String yaml) throws ConfigException {
        return ConfigLoader.parse(yaml, dir);
    }

    private List<String> problems(String yaml) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> load(yaml));
        assertThat(e).as("config should have been rejected:\n%s", yaml).isNotNull();
        return e.problems();
    }

    @Test
    @DisplayName("a file without the section gets the preflight on and enforced, with the documented defaults")
    void defaults() throws Exception {
        FederationConfig.Preflight p = load(BASE).preflight();
        assertThat(p).isEqualTo(FederationConfig.Preflight.defaults());
        assertThat(p.enabled()).isTrue();
        assertThat(p.enforce()).isTrue();
        assertThat(p.interval()).isEqualTo(Duration.ofMinutes(10));
        assertThat(p.retryInterval()).isEqualTo(Duration.ofMinutes(1));
        assertThat(p.timeout()).isEqualTo(Duration.ofMinutes(2));
        assertThat(p.port()).isEqualTo(10002);
        assertThat(p.image()).isNull();
        assertThat(p.firstVerdictWait()).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    @DisplayName("every field read; turned off in one line")
    void everyField() throws Exception {
        FederationConfig.Preflight p = load(BASE + """
                preflight: {enabled: true, enforce: false, interval: 5m, retryInterval: 20s, timeout: 90s, port: 7000,
                            image: "mirror.example/ray:2.60.0", firstVerdictWait: 3m}
                """).preflight();
        assertThat(p).isEqualTo(new FederationConfig.Preflight(true, false, Duration.ofMinutes(5), Duration.ofSeconds(20),
                Duration.ofSeconds(90), 7000, "mirror.example/ray:2.60.0", Duration.ofMinutes(3)));
        assertThat(load(BASE + "preflight: {firstVerdictWait: 0s}\n").preflight().firstVerdictWait())
                .as("zero: placed on while the first verdict is pending").isZero();
        assertThat(load(BASE + "preflight: {enabled: false}\n").preflight().enabled()).isFalse();
    }

    @Test
    @DisplayName("bad values are each named by their field, and nothing loads")
    void badValues() {
        assertThat(problems(BASE + """
                preflight: {enabled: yes please, enforce: 1, interval: 30s, timeout: 1m, port: 70000, image: "a b", frobnicate: 1,
                            firstVerdictWait: soon}
                """)).anySatisfy(p -> assertThat(p).startsWith("preflight.enabled: must be true or false"))
                .anySatisfy(p -> assertThat(p).startsWith("preflight.firstVerdictWait: must be a duration such as"))
                .anySatisfy(p -> assertThat(p).startsWith("preflight.enforce: must be true or false"))
                .anySatisfy(p -> assertThat(p).startsWith("preflight.interval: must be at least timeout (1m)"))
                .anySatisfy(p -> assertThat(p).startsWith("preflight.port: must be a TCP port from 1 to 65535 (got 70000)"))
                .anySatisfy(p -> assertThat(p).startsWith("preflight.image: must be an image reference without spaces"))
                .anySatisfy(p -> assertThat(p).startsWith("preflight.frobnicate: unknown key"));
        assertThat(problems(BASE + "preflight: {timeout: 500ms}\n"))
                .containsExactly("preflight.timeout: must be at least 1s (got 500ms)");
        assertThat(problems(BASE + "preflight: {retryInterval: 0s}\n"))
                .anySatisfy(p -> assertThat(p).startsWith("preflight.retryInterval: must be longer than 0"));
        assertThat(problems(BASE + "preflight: on\n")).containsExactly("preflight: must be a map, not a boolean (true)");
    }
}
