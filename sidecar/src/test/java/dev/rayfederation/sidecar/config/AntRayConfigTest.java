package dev.rayfederation.sidecar.config;

import dev.rayfederation.sidecar.config.FederationConfig.AntRay;
import dev.rayfederation.sidecar.config.FederationConfig.AntRayCluster;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The {@code antRay} section and each virtual cluster's {@code antRay}: defaults, and every bad value named. */
class AntRayConfigTest {

    /** Valid, without antRay; cases add to it. */
    private static final String BASE = """
            rayCluster: {name: demo, headAddress: 10.0.0.12:6379}
            clusters: [{name: aws-use1, kubeconfig: kc-aws}]
            virtualClusters:
              - name: team-a
              - name: team-b
            pools:
              - {name: batch-a, virtualCluster: team-a, resources: {CPU: 1}}
              - {name: batch-b, virtualCluster: team-b, resources: {CPU: 1}}
            """;
    private static final String TEAM_A = "  - name: team-a\n";
    private static final String TEAM_B = "  - name: team-b\n";

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
    void withoutTheSectionTheIntegrationIsOffAndEachVirtualClusterMapsToItsName() throws Exception {
        FederationConfig config = load(BASE);

        assertThat(config.antRay().enabled()).isFalse();
        assertThat(config.virtualClusters()).extracting(FederationConfig.VirtualCluster::antRay)
                .containsExactly(new AntRayCluster("team-a", false), new AntRayCluster("team-b", false));
    }

    @Test
    void aDashboardUrlAloneTurnsItOnWithTheDefaults() throws Exception {
        FederationConfig config = load(BASE + "antRay: {dashboardUrl: 'http://10.0.0.12:8265/'}\n");

        assertThat(config.antRay()).isEqualTo(new AntRay(true, URI.create("http://10.0.0.12:8265"),
                Duration.ofSeconds(5), Duration.ofSeconds(2), Duration.ofSeconds(5)));
    }

    @Test
    void everySettingCanBeGiven() throws Exception {
        FederationConfig config = load(BASE.replace(TEAM_B, TEAM_B + "    antRay: {id: tenant_b.v2, divisible: true}\n")
                + "antRay: {enabled: true, dashboardUrl: 'https://ray-head.example:8443/proxy', requestTimeout: 1500ms,"
                + " retryInterval: 500ms, shrinkWait: 1m}\n");

        assertThat(config.antRay()).isEqualTo(new AntRay(true, URI.create("https://ray-head.example:8443/proxy"),
                Duration.ofMillis(1500), Duration.ofMillis(500), Duration.ofMinutes(1)));
        assertThat(config.virtualClusters().get(1).antRay()).isEqualTo(new AntRayCluster("tenant_b.v2", true));
    }

    @Test
    void enabledFalseKeepsItOffWithAUrlGiven() throws Exception {
        assertThat(load(BASE + "antRay: {enabled: false, dashboardUrl: 'http://10.0.0.12:8265'}\n").antRay().enabled()).isFalse();
    }

    @Test
    void theEffectiveConfigShowsTheMappingAndLoadsBackIntoTheSameConfig() throws Exception {
        FederationConfig config = load(BASE.replace(TEAM_A, TEAM_A + "    antRay: {id: ant-a}\n")
                + "antRay: {dashboardUrl: 'http://10.0.0.12:8265', shrinkWait: 10s}\n");

        String described = ConfigLoader.describe(config);

        assertThat(described).contains("dashboardUrl: http://10.0.0.12:8265", "shrinkWait: 10s", "id: ant-a", "id: team-b");
        assertThat(ConfigLoader.parse(described, Path.of("/elsewhere"))).isEqualTo(config);
    }

    static Stream<Arguments> mistakes() {
        return Stream.of(
                Arguments.of("antRay: true\n", "antRay: must be a map, not a boolean"),
                Arguments.of("antRay: {enabled: true}\n",
                        "antRay.dashboardUrl: is required when antRay.enabled is true (the Ray head's dashboard, such as http://127.0.0.1:8265)"),
                Arguments.of("antRay: {enabled: 'yes', dashboardUrl: 'http://h:8265'}\n", "antRay.enabled: must be true or false"),
                Arguments.of("antRay: {dashboardUrl: 8265}\n", "antRay.dashboardUrl: must be a string, not a number"),
                Arguments.of("antRay: {dashboardUrl: '127.0.0.1:8265'}\n",
                        "antRay.dashboardUrl: must be an http:// or https:// URL (got '127.0.0.1:8265')"),
                Arguments.of("antRay: {dashboardUrl: 'http://'}\n", "antRay.dashboardUrl: must name a host (got 'http://')"),
                Arguments.of("antRay: {dashboardUrl: 'http://h:8265/?token=x'}\n",
                        "antRay.dashboardUrl: must be a plain base URL without user info, query or fragment"),
                Arguments.of("antRay: {dashboardUrl: 'http://user:pw@h:8265'}\n",
                        "antRay.dashboardUrl: must be a plain base URL without user info, query or fragment"),
                Arguments.of("antRay: {dashboardUrl: 'http://h:8265', requestTimeout: 5}\n",
                        "antRay.requestTimeout: must be a duration with a unit, such as 500ms, 10s or 2m (got 5)"),
                Arguments.of("antRay: {dashboardUrl: 'http://h:8265', retryInterval: 0s}\n", "antRay.retryInterval: must be longer than 0"),
                Arguments.of("antRay: {dashboardUrl: 'http://h:8265', shrinkWait: 1d}\n",
                        "antRay.shrinkWait: must be a duration such as 500ms, 10s or 2m (got '1d')"),
                Arguments.of("antRay: {dashboardUrl: 'http://h:8265', shrinkwait: 5s}\n", "antRay.shrinkwait: unknown key"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("mistakes")
    void aBadSettingIsNamed(String section, String expected) {
        assertThat(problems(BASE + section)).singleElement().asString().startsWith(expected);
    }

    static Stream<Arguments> virtualClusterMistakes() {
        return Stream.of(
                Arguments.of(TEAM_A, "    antRay: team-a\n", "virtualClusters[0].antRay: must be a map, not a string"),
                Arguments.of(TEAM_A, "    antRay: {id: 'team a'}\n",
                        "virtualClusters[0].antRay.id: must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit (got 'team a')"),
                Arguments.of(TEAM_A, "    antRay: {id: '##job'}\n", "virtualClusters[0].antRay.id: must be 1 to 64 letters"),
                Arguments.of(TEAM_A, "    antRay: {id: " + "a".repeat(65) + "}\n", "virtualClusters[0].antRay.id: must be 1 to 64 letters"),
                Arguments.of(TEAM_A, "    antRay: {divisible: 'no'}\n", "virtualClusters[0].antRay.divisible: must be true or false"),
                Arguments.of(TEAM_A, "    antRay: {name: x}\n", "virtualClusters[0].antRay.name: unknown key"),
                Arguments.of(TEAM_B, "    antRay: {id: team-a}\n",
                        "virtualClusters[1].antRay.id: 'team-a' is already used by virtualClusters[0].name, the default id (must be unique)"),
                Arguments.of(TEAM_A, "    antRay: {id: team-b}\n",
                        "virtualClusters[1].antRay: 'team-b' (the default id: this virtual cluster's name) is already used by "
                                + "virtualClusters[0].antRay.id (must be unique)"));
    }

    @Test
    void anIdTakenByAnotherVirtualClusterIsNamedAlsoWhenOnlyDivisibleIsGiven() {
        String yaml = BASE.replace(TEAM_A, TEAM_A + "    antRay: {id: team-b}\n")
                .replace(TEAM_B, TEAM_B + "    antRay: {divisible: true}\n");

        assertThat(problems(yaml)).containsExactly("virtualClusters[1].antRay: 'team-b' (the default id: this virtual "
                + "cluster's name) is already used by virtualClusters[0].antRay.id (must be unique)");
    }

    @Test
    void twoVirtualClustersWithOneNameAreReportedOnceForTheNameNotAgainForTheDefaultIds() {
        String yaml = BASE.replace("  - name: team-b\n", "  - name: team-a\n");

        assertThat(problems(yaml)).containsExactly("virtualClusters[1].name: 'team-a' is already used by virtualClusters[0] (must be unique)",
                "pools[1].virtualCluster: 'team-b' is not declared in virtualClusters (declared: team-a)");
    }

    @ParameterizedTest(name = "{2}")
    @MethodSource("virtualClusterMistakes")
    void aBadMappingIsNamed(String after, String antRay, String expected) {
        String yaml = BASE.replace(after, after + antRay) + "antRay: {dashboardUrl: 'http://h:8265'}\n";

        assertThat(problems(yaml)).singleElement().asString().startsWith(expected);
    }
}
