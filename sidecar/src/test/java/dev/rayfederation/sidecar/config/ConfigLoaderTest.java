package dev.rayfederation.sidecar.config;

import dev.rayfederation.k8s.resilience.ResilienceOptions.BreakerSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.BulkheadSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.CreateSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.HoldOutSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.ProbeSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.RateLimitSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.RetrySettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions;
import dev.rayfederation.sidecar.config.FederationConfig.CapacityMode;
import dev.rayfederation.sidecar.config.FederationConfig.Cluster;
import dev.rayfederation.sidecar.config.FederationConfig.HostPort;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;
import dev.rayfederation.sidecar.placement.strategy.Strategies;
import dev.rayfederation.sidecar.config.FederationConfig.Timing;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

/** Valid configs: what they load into, which defaults apply, and what the start-up log shows. */
class ConfigLoaderTest {

    private static final long GI = 1L << 30;

    @TempDir
    Path dir;

    @BeforeEach
    void writeKubeconfigs() throws IOException {
        Files.writeString(dir.resolve("kc-aws"), "apiVersion: v1\nkind: Config\n");
        Files.writeString(dir.resolve("kc-gcp"), "apiVersion: v1\nkind: Config\n");
    }

    @Nested
    class TheDesignExample {

        /** The documented example config verbatim, except that file paths point into the temp dir and gcp-usc1 is declared. */
        private FederationConfig load() throws Exception {
            Files.writeString(dir.resolve("token"), "t0ken\n");
            String yaml = """
                    rayCluster:
                      name: demo                     # Ray cluster_name; stamped on every pod
                      headAddress: 10.0.0.12:6379    # what workers pass to `ray start --address`
                    api:
                      listen: 127.0.0.1:8765         # node-provider API; loopback by default
                      tokenFile: %1$s/token   # bearer token; required if listen is not loopback
                    management:
                      listen: 0.0.0.0:9090           # /healthz /readyz /metrics
                    clusters:                        # member Kubernetes clusters
                      - name: aws-use1               # [a-z0-9-], unique
                        cloud: aws                   # circuit-breaker group
                        region: us-east-1
                        zone: us-east-1a             # optional
                        kubeconfig: %1$s/kc-aws   # omitted: in-cluster credentials
                        context: aws-use1            # optional
                        namespace: ray-workers
                        priority: 10                 # higher is tried first by strategy `priority`
                        price: {CPU: 0.031, GPU: 2.10}   # per unit-hour, for strategy `cheapest` (optional)
                        elastic: false               # true: the member has its own node autoscaler
                        capacity: auto               # auto: from Nodes and Pods; static: from staticCapacity only
                        staticCapacity: {CPU: 512, GPU: 16, memory: 2Ti}   # cap (auto) or the whole capacity (static)
                      - name: gcp-usc1
                        cloud: gcp
                        kubeconfig: %1$s/kc-gcp
                    virtualClusters:                 # tenants; pools belong to one
                      - name: vc-inference
                        quota: {GPU: 300, CPU: 4000} # across ALL member clusters; optional
                    pools:                           # a virtual-cluster resource pool = one Ray node type
                      - name: gpu-l4
                        virtualCluster: vc-inference
                        rayNodeType: gpu-l4          # key in Ray's available_node_types
                        resources: {CPU: 8, GPU: 1, memory: 32Gi}   # per worker; pod requests and Ray resources
                        rayResources: {}             # extra custom Ray resources advertised by the worker
                        labels: {accelerator: l4}    # extra Ray node labels
                        minWorkers: 0
                        maxWorkers: 200
                        strategy: spread             # priority | spread | most-free | cheapest
                        clusters: [aws-use1, gcp-usc1]   # allowed members; default all
                        template:                    # worker PodTemplateSpec (image, volumes, tolerations, ...)
                          spec:
                            containers:
                              - name: ray-worker
                                image: rayproject/ray:2.60.0-gpu
                        overrides:                   # strategic patch per member (nodeSelector, tolerations, image mirror)
                          gcp-usc1:
                            spec:
                              nodeSelector: {cloud.google.com/gke-accelerator: nvidia-l4}
                    """.formatted(dir);
            return ConfigLoader.parse(yaml, dir);
        }

        @Test
        void loadsRayClusterAndListeners() throws Exception {
            FederationConfig config = load();

            assertThat(config.rayCluster().name()).isEqualTo("demo");
            assertThat(config.rayCluster().headAddress()).isEqualTo("10.0.0.12:6379");
            assertThat(config.api().listen()).isEqualTo(new HostPort("127.0.0.1", 8765));
            assertThat(config.api().tokenFile()).isEqualTo(dir.resolve("token"));
            assertThat(config.management().listen()).isEqualTo(new HostPort("0.0.0.0", 9090));
        }

        @Test
        void loadsMembersWithTheirPricesAndCapacity() throws Exception {
            FederationConfig config = load();

            Cluster aws = config.cluster("aws-use1").orElseThrow();
            assertThat(aws.cloud()).isEqualTo("aws");
            assertThat(aws.region()).isEqualTo("us-east-1");
            assertThat(aws.zone()).isEqualTo("us-east-1a");
            assertThat(aws.kubeconfig()).isEqualTo(dir.resolve("kc-aws"));
            assertThat(aws.context()).isEqualTo("aws-use1");
            assertThat(aws.priority()).isEqualTo(10);
            assertThat(aws.price()).containsExactly(entry("CPU", 0.031), entry("GPU", 2.10));
            assertThat(aws.elastic()).isFalse();
            assertThat(aws.capacity()).isEqualTo(CapacityMode.AUTO);
            assertThat(aws.staticCapacity().milli()).containsOnly(
                    entry("CPU", 512_000L), entry("GPU", 16_000L), entry("memory", 2048 * GI * 1000));
        }

        @Test
        void appliesDefaultsToAMemberThatGivesOnlyItsName() throws Exception {
            Cluster gcp = load().cluster("gcp-usc1").orElseThrow();

            assertThat(gcp.namespace()).isEqualTo("ray-workers");
            assertThat(gcp.priority()).isZero();
            assertThat(gcp.price()).isEmpty();
            assertThat(gcp.elastic()).isFalse();
            assertThat(gcp.capacity()).isEqualTo(CapacityMode.AUTO);
            assertThat(gcp.staticCapacity().isEmpty()).isTrue();
            assertThat(gcp.gpuResourceName()).isEqualTo("nvidia.com/gpu");
            assertThat(gcp.region()).isNull();
            assertThat(gcp.context()).isNull();
        }

        @Test
        void loadsThePoolWithMemoryInMilliBytes() throws Exception {
            FederationConfig config = load();

            Pool pool = config.poolByNodeType("gpu-l4").orElseThrow();
            assertThat(pool.name()).isEqualTo("gpu-l4");
            assertThat(pool.virtualCluster()).isEqualTo("vc-inference");
            assertThat(pool.resources().get("memory")).isEqualTo(32 * GI * 1000);
            assertThat(pool.resources().get("CPU")).isEqualTo(8_000);
            assertThat(pool.resources().get("GPU")).isEqualTo(1_000);
            assertThat(pool.rayResources()).isEmpty();
            assertThat(pool.labels()).containsExactly(entry("accelerator", "l4"));
            assertThat(pool.minWorkers()).isZero();
            assertThat(pool.maxWorkers()).isEqualTo(200);
            assertThat(pool.strategy()).isEqualTo(Strategies.SPREAD);
            assertThat(pool.clusters()).containsExactly("aws-use1", "gcp-usc1");
            assertThat(pool.template()).isEqualTo(Map.of("spec", Map.of("containers",
                    List.of(Map.of("name", "ray-worker", "image", "rayproject/ray:2.60.0-gpu")))));
            assertThat(pool.overrides()).containsOnlyKeys("gcp-usc1");
            assertThat(pool.overrides().get("gcp-usc1")).isEqualTo(Map.of("spec",
                    Map.of("nodeSelector", Map.of("cloud.google.com/gke-accelerator", "nvidia-l4"))));
        }

        @Test
        void loadsTheVirtualClusterQuotaAndDefaultTiming() throws Exception {
            FederationConfig config = load();

            assertThat(config.virtualCluster("vc-inference").orElseThrow().quota().milli())
                    .containsOnly(entry("GPU", 300_000L), entry("CPU", 4_000_000L));
            assertThat(config.timing()).isEqualTo(Timing.defaults());
        }
    }

    @Nested
    class Defaults {

        private static final String MINIMAL = """
                rayCluster: {name: demo, headAddress: head.example.com:6379}
                clusters:
                  - name: aws-use1
                  - name: gcp-usc1
                virtualClusters:
                  - name: vc-batch
                pools:
                  - name: cpu-small
                    virtualCluster: vc-batch
                    resources: {CPU: 500m}
                """;

        @Test
        void aMinimalConfigGetsEveryDocumentedDefault() throws Exception {
            FederationConfig config = ConfigLoader.parse(MINIMAL, dir);

            assertThat(config.api().listen()).isEqualTo(new HostPort("127.0.0.1", 8765));
            assertThat(config.api().tokenFile()).isNull();
            assertThat(config.management().listen()).isEqualTo(new HostPort("0.0.0.0", 9090));
            Cluster aws = config.clusters().get(0);
            assertThat(aws.kubeconfig()).as("in-cluster credentials").isNull();
            assertThat(aws.cloud()).as("a member without a cloud is its own breaker group").isEqualTo("aws-use1");
            assertThat(aws.namespace()).isEqualTo("ray-workers");
            Pool pool = config.pools().get(0);
            assertThat(pool.rayNodeType()).isEqualTo("cpu-small");
            assertThat(pool.resources().get("CPU")).isEqualTo(500);
            assertThat(pool.minWorkers()).isZero();
            assertThat(pool.maxWorkers()).isEqualTo(100);
            assertThat(pool.strategy()).isEqualTo(Strategies.SPREAD);
            assertThat(pool.clusters()).as("every member, in config order").containsExactly("aws-use1", "gcp-usc1");
            assertThat(pool.template()).isEmpty();
            assertThat(pool.overrides()).isEmpty();
            assertThat(pool.labels()).isEmpty();
            assertThat(pool.rayResources()).isEmpty();
            assertThat(config.virtualCluster("vc-batch").orElseThrow().quota().isEmpty()).isTrue();
            assertThat(config.timing()).isEqualTo(Timing.defaults());
            assertThat(config.resilience()).as("suited to a 5-second autoscaler tick").isEqualTo(ResilienceOptions.defaults());
        }

        @Test
        void aResilienceSectionSetsEveryGuardOfTheMembersCalls() throws Exception {
            FederationConfig config = ConfigLoader.parse(MINIMAL + """
                    resilience:
                      breaker: {slidingWindowSize: 20, minimumCalls: 8, failureRateThreshold: 40, slowCallRateThreshold: 90,
                                slowCallDuration: 3s, waitInOpenState: 30s, halfOpenCalls: 5}
                      bulkhead: {maxConcurrentCalls: 32, maxWait: 250ms}
                      rateLimit: {requestsPerSecond: 40, maxWait: 20s}
                      retries: {maxAttempts: 5, initialBackoff: 100ms, maxBackoff: 4s, maxRetryAfter: 30s}
                      probe: {interval: 500ms, timeout: 1s, failuresToUnreachable: 3}
                      holdOut: {afterFlaps: 3, initial: 1m, max: 10m}
                      create: {attemptTimeout: 1500ms, deadline: 3s}
                    """, dir);

            assertThat(config.resilience()).isEqualTo(new ResilienceOptions(
                    new BreakerSettings(20, 8, 40, 90, Duration.ofSeconds(3), Duration.ofSeconds(30), 5),
                    new BulkheadSettings(32, Duration.ofMillis(250)),
                    new RateLimitSettings(40, Duration.ofSeconds(20)),
                    new RetrySettings(5, Duration.ofMillis(100), Duration.ofSeconds(4), Duration.ofSeconds(30)),
                    new ProbeSettings(Duration.ofMillis(500), Duration.ofSeconds(1), 3),
                    new HoldOutSettings(3, Duration.ofMinutes(1), Duration.ofMinutes(10)),
                    new CreateSettings(Duration.ofMillis(1500), Duration.ofSeconds(3))));
        }

        @Test
        void aPartialResilienceSectionKeepsTheOtherDefaults() throws Exception {
            FederationConfig config = ConfigLoader.parse(MINIMAL + "resilience: {breaker: {waitInOpenState: 1m}, retries: {maxAttempts: 1}}\n", dir);

            ResilienceOptions defaults = ResilienceOptions.defaults();
            assertThat(config.resilience().breaker().waitInOpenState()).isEqualTo(Duration.ofMinutes(1));
            assertThat(config.resilience().breaker().slidingWindowSize()).isEqualTo(defaults.breaker().slidingWindowSize());
            assertThat(config.resilience().retries().maxAttempts()).as("no retries").isEqualTo(1);
            assertThat(config.resilience().retries().maxBackoff()).isEqualTo(defaults.retries().maxBackoff());
            assertThat(config.resilience().bulkhead()).isEqualTo(defaults.bulkhead());
            assertThat(config.resilience().rateLimit()).isEqualTo(defaults.rateLimit());
        }

        @Test
        void timingAcceptsMillisecondsSecondsAndMinutes() throws Exception {
            FederationConfig config = ConfigLoader.parse(MINIMAL
                    + "timing: {memberStartTimeout: 500ms, memberRetryInterval: 2m, requestTimeout: 45s}\n", dir);

            assertThat(config.timing().memberStartTimeout()).isEqualTo(Duration.ofMillis(500));
            assertThat(config.timing().memberRetryInterval()).isEqualTo(Duration.ofMinutes(2));
            assertThat(config.timing().requestTimeout()).isEqualTo(Duration.ofSeconds(45));
        }

        @Test
        void anIpv6LoopbackListenerNeedsNoToken() throws Exception {
            FederationConfig config = ConfigLoader.parse(MINIMAL + "api: {listen: '[::1]:8765'}\n", dir);

            assertThat(config.api().listen()).isEqualTo(new HostPort("::1", 8765));
            assertThat(config.api().listen().toString()).isEqualTo("[::1]:8765");
        }

        @Test
        void sharedTemplatesCanUseYamlAnchorsAndMergeKeys() throws Exception {
            String yaml = """
                    rayCluster: {name: demo, headAddress: 10.0.0.12:6379}
                    clusters: [{name: aws-use1}]
                    virtualClusters: [{name: vc-batch}]
                    pools:
                      - &small
                        name: cpu-small
                        virtualCluster: vc-batch
                        resources: {CPU: 4, memory: 16Gi}
                        template: &tpl
                          spec:
                            containers: [{name: ray-worker, image: rayproject/ray:2.60.0}]
                      - <<: *small
                        name: cpu-small-b
                        template: *tpl
                    """;

            FederationConfig config = ConfigLoader.parse(yaml, dir);

            Pool copy = config.pools().get(1);
            assertThat(copy.name()).isEqualTo("cpu-small-b");
            assertThat(copy.virtualCluster()).isEqualTo("vc-batch");
            assertThat(copy.resources()).isEqualTo(config.pools().get(0).resources());
            assertThat(copy.template()).isEqualTo(config.pools().get(0).template()).isNotEmpty();
        }
    }

    @Nested
    class FilesTheConfigNames {

        @Test
        void loadResolvesRelativePathsAgainstTheConfigFilesDirectory() throws Exception {
            Path sub = Files.createDirectories(dir.resolve("etc/ray-federation"));
            Files.writeString(sub.resolve("kc"), "apiVersion: v1\n");
            Files.writeString(sub.resolve("token"), "abc\n");
            Path file = sub.resolve("federation.yaml");
            Files.writeString(file, """
                    rayCluster: {name: demo, headAddress: 10.0.0.12:6379}
                    api: {listen: 0.0.0.0:8765, tokenFile: token}
                    clusters: [{name: aws-use1, kubeconfig: kc}]
                    virtualClusters: [{name: vc-batch}]
                    pools: [{name: cpu, virtualCluster: vc-batch, resources: {CPU: 1}}]
                    """);

            FederationConfig config = ConfigLoader.load(file);

            assertThat(config.clusters().get(0).kubeconfig()).isEqualTo(sub.resolve("kc"));
            assertThat(config.api().tokenFile()).isEqualTo(sub.resolve("token"));
        }

        @Test
        void theExampleConfigShippedWithTheTestsLoads() throws Exception {
            Path example = dir.resolve("example.yaml");
            try (InputStream in = ConfigLoaderTest.class.getResourceAsStream("/config/example.yaml")) {
                assertThat(in).as("config/example.yaml on the test classpath").isNotNull();
                Files.copy(in, example);
            }
            Path kubeconfigs = Files.createDirectories(dir.resolve("kubeconfigs"));
            for (String member : List.of("aws-use1", "gcp-usc1", "azure-eus")) {
                Files.writeString(kubeconfigs.resolve(member), "apiVersion: v1\n");
            }

            FederationConfig config = ConfigLoader.load(example);

            assertThat(config.clusters()).extracting(Cluster::name).containsExactly("aws-use1", "gcp-usc1", "azure-eus");
            assertThat(config.clusters()).extracting(Cluster::kubeconfig)
                    .containsExactly(kubeconfigs.resolve("aws-use1"), kubeconfigs.resolve("gcp-usc1"),
                            kubeconfigs.resolve("azure-eus"));
            assertThat(config.pools()).extracting(Pool::name).containsExactly("cpu-small", "cpu-large", "gpu-l4");
        }

        @Test
        void theExampleConfigNamesItsMissingKubeconfigsWhenTheyAreAbsent() throws Exception {
            Path example = dir.resolve("example.yaml");
            try (InputStream in = ConfigLoaderTest.class.getResourceAsStream("/config/example.yaml")) {
                Files.copy(in, example);
            }

            assertThatThrownBy(() -> ConfigLoader.load(example))
                    .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
                            "clusters[0].kubeconfig: file not found: " + dir.resolve("kubeconfigs/aws-use1"),
                            "clusters[1].kubeconfig: file not found: " + dir.resolve("kubeconfigs/gcp-usc1"),
                            "clusters[2].kubeconfig: file not found: " + dir.resolve("kubeconfigs/azure-eus")));
        }
    }

    @Nested
    class Describe {

        @Test
        void showsTheEffectiveConfigWithoutSecrets() throws Exception {
            String tokenSecret = "s3cr3t-bearer-9f8e7d";
            String kubeSecret = "kube-token-1a2b3c";
            String envSecret = "hunter2-password";
            Files.writeString(dir.resolve("token"), tokenSecret + "\n");
            Files.writeString(dir.resolve("kc-aws"), "users: [{name: u, user: {token: " + kubeSecret + "}}]\n");
            String yaml = """
                    rayCluster: {name: demo, headAddress: 10.0.0.12:6379}
                    api: {listen: 0.0.0.0:8765, tokenFile: token}
                    clusters: [{name: aws-use1, kubeconfig: kc-aws}]
                    virtualClusters: [{name: vc-batch}]
                    pools:
                      - name: cpu
                        virtualCluster: vc-batch
                        resources: {CPU: 4, memory: 16Gi}
                        template:
                          spec:
                            containers:
                              - name: ray-worker
                                image: rayproject/ray:2.60.0
                                env: [{name: DB_PASSWORD, value: %s}]
                    """.formatted(envSecret);

            String described = ConfigLoader.describe(ConfigLoader.parse(yaml, dir));

            assertThat(described)
                    .doesNotContain(tokenSecret, kubeSecret, envSecret)
                    .contains("tokenFile: " + dir.resolve("token"))
                    .contains("kubeconfig: " + dir.resolve("kc-aws"))
                    .contains("DB_PASSWORD", "<redacted>")
                    .contains("memory: 16Gi")
                    .contains("namespace: ray-workers", "maxWorkers: 100", "strategy: spread", "requestTimeout: 30s")
                    .contains("resilience:", "slidingWindowSize: 10", "waitInOpenState: 15s", "maxConcurrentCalls: 16",
                            "requestsPerSecond: 100", "initialBackoff: 200ms");
        }

        @Test
        void isAConfigFileThatLoadsBackIntoTheSameConfig() throws Exception {
            Files.writeString(dir.resolve("token"), "t0ken\n");
            String yaml = """
                    rayCluster: {name: demo, headAddress: '[fd00::12]:6379'}
                    api: {listen: 10.0.0.5:8765, tokenFile: token}
                    clusters:
                      - {name: aws-use1, cloud: aws, kubeconfig: kc-aws, price: {CPU: 0.5}, staticCapacity: {memory: 2Ti}}
                      - {name: gcp-usc1, capacity: static, staticCapacity: {CPU: 64, GPU: 8}, elastic: true, zone: z1}
                    virtualClusters: [{name: vc-batch, quota: {CPU: 100}}, {name: vc-free}]
                    pools:
                      - name: cpu
                        virtualCluster: vc-batch
                        resources: {CPU: 1500m, memory: 16Gi, example.com/fpga: 1}
                        rayResources: {fpga: 1}
                        labels: {tier: batch}
                        minWorkers: 2
                        strategy: cheapest
                        template: {spec: {containers: [{name: ray-worker, image: img}]}}
                        overrides: {aws-use1: {spec: {nodeSelector: {a: b}}}}
                      - {name: gpu, virtualCluster: vc-free, rayNodeType: GPU.node, resources: {GPU: 2}, clusters: [gcp-usc1]}
                    timing: {requestTimeout: 1500ms}
                    resilience:
                      breaker: {slidingWindowSize: 6, minimumCalls: 6, slowCallDuration: 1500ms, waitInOpenState: 2m}
                      bulkhead: {maxWait: 1s}
                      retries: {maxAttempts: 2, maxRetryAfter: 1h}
                    """;
            FederationConfig config = ConfigLoader.parse(yaml, dir);

            String described = ConfigLoader.describe(config);

            assertThat(ConfigLoader.parse(described, Path.of("/elsewhere"))).isEqualTo(config);
        }
    }
}
