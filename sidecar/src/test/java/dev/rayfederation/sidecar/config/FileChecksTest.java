package dev.rayfederation.sidecar.config;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * A config rendered for a pod (by the Helm chart) names kubeconfigs and a token file that only exist inside
 * that pod: {@link FileChecks#SKIP} and {@code --skip-file-checks} validate everything else.
 */
class FileChecksTest {

    /** Names files that do not exist here, like the chart's federation.yaml. */
    static final String RENDERED = """
            rayCluster:
              name: prod
              headAddress: ray-head.example:6379
            api:
              listen: 0.0.0.0:8765
              tokenFile: /var/run/secrets/ray-federation/token
            clusters:
              - name: aws-use1
                cloud: aws
                kubeconfig: kubeconfigs/aws-use1/kubeconfig
              - name: home
                cloud: local
            virtualClusters:
              - name: vc
            pools:
              - name: cpu
                virtualCluster: vc
                resources: {CPU: 4, memory: 16Gi}
            """;

    @TempDir
    Path dir;

    @Nested
    class WhenLoading {

        @Test
        void startUpChecksRefuseFilesThatAreMissing() {
            ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse(RENDERED, dir));

            assertThat(e.problems()).hasSize(2);
            assertThat(e.problems().get(0)).startsWith("api.tokenFile: file not found: /var/run/secrets/ray-federation/token");
            assertThat(e.problems().get(1)).startsWith("clusters[0].kubeconfig: file not found: "
                    + dir.resolve("kubeconfigs/aws-use1/kubeconfig"));
        }

        @Test
        void skippingFileChecksAcceptsTheConfigAndStillResolvesThePaths() throws Exception {
            FederationConfig config = ConfigLoader.parse(RENDERED, dir, FileChecks.SKIP);

            assertThat(config.api().tokenFile()).isEqualTo(Path.of("/var/run/secrets/ray-federation/token"));
            assertThat(config.clusters().get(0).kubeconfig()).isEqualTo(dir.resolve("kubeconfigs/aws-use1/kubeconfig"));
            assertThat(config.clusters().get(1).kubeconfig()).as("in-cluster member").isNull();
        }

        @Test
        void skippingFileChecksStillReportsEveryOtherProblem() {
            String broken = RENDERED.replace("resources: {CPU: 4, memory: 16Gi}", "resources: {CPU: -1, memory: 16Gi}")
                    .replace("kubeconfig: kubeconfigs/aws-use1/kubeconfig", "kubeconfig: \"\"");

            ConfigException e = catchThrowableOfType(ConfigException.class,
                    () -> ConfigLoader.parse(broken, dir, FileChecks.SKIP));

            assertThat(e.problems()).hasSize(2);
            assertThat(e.problems().get(0)).startsWith("clusters[0].kubeconfig: must not be empty");
            assertThat(e.problems().get(1)).startsWith("pools[0].resources.CPU:");
        }

        @Test
        void skippingFileChecksStillRequiresATokenOffLoopback() {
            String open = RENDERED.replace("  tokenFile: /var/run/secrets/ray-federation/token\n", "");

            ConfigException e = catchThrowableOfType(ConfigException.class,
                    () -> ConfigLoader.parse(open, dir, FileChecks.SKIP));

            assertThat(e.problems()).singleElement().asString()
                    .startsWith("api.tokenFile: required when api.listen is not a loopback address (0.0.0.0:8765)");
        }
    }

    @Nested
    class OnTheCommandLine {

        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final ByteArrayOutputStream err = new ByteArrayOutputStream();

        private int run(Map<String, String> env, String... args) {
            return ConfigCheck.withoutFileChecks(args, env, new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
        }

        @Test
        void validConfigPrintsTheEffectiveConfigAndExitsZero() throws Exception {
            Path file = Files.writeString(dir.resolve("federation.yaml"), RENDERED);

            int status = run(Map.of(), "--config", file.toString(), "--check-config", "--skip-file-checks");

            assertThat(status).isZero();
            assertThat(out.toString(StandardCharsets.UTF_8))
                    .contains("  - name: aws-use1\n").contains("configuration is valid (--skip-file-checks");
            assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();
        }

        @Test
        void invalidConfigListsEveryProblemByFieldAndExitsTwo() throws Exception {
            Path file = Files.writeString(dir.resolve("federation.yaml"),
                    RENDERED.replace("name: aws-use1", "name: AWS_1").replace("CPU: 4", "CPU: -4"));

            int status = run(Map.of(), "--skip-file-checks", "--config", file.toString());

            assertThat(status).isEqualTo(2);
            assertThat(err.toString(StandardCharsets.UTF_8))
                    .startsWith("ray-federation: invalid configuration " + file + " (2 problems):")
                    .contains("\n  - clusters[0].name:").contains("\n  - pools[0].resources.CPU:");
            assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
        }

        @Test
        void theConfigPathMayComeFromTheEnvironment() throws Exception {
            Path file = Files.writeString(dir.resolve("federation.yaml"), RENDERED);

            assertThat(run(Map.of("RAY_FEDERATION_CONFIG", file.toString()), "--skip-file-checks")).isZero();
        }

        @Test
        void unknownArgumentsAndAMissingConfigAreRefused() {
            assertThat(run(Map.of(), "--skip-file-checks", "--verbose")).isEqualTo(2);
            assertThat(run(Map.of(), "--skip-file-checks")).isEqualTo(2);

            assertThat(err.toString(StandardCharsets.UTF_8))
                    .contains("ray-federation: unknown argument '--verbose' (try --help)")
                    .contains("ray-federation: no configuration: pass --config FILE or set RAY_FEDERATION_CONFIG");
        }
    }
}
