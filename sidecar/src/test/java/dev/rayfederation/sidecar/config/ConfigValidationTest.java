package dev.rayfederation.sidecar.config;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Invalid configs: every problem is reported with the path of the field at fault, all at once, in the
 * order of the file. Most cases change one line of a valid base config and expect exactly the listed
 * problems (each given as the start of the expected line).
 */
class ConfigValidationTest {

    /** Valid; each case below edits it with a plain text replacement. */
    static final String BASE = """
            rayCluster:
              name: demo
              headAddress: 10.0.0.12:6379
            api:
              listen: 127.0.0.1:8765
            clusters:
              - name: aws-use1
                cloud: aws
                kubeconfig: kc-aws
                price: {CPU: 0.031}
              - name: gcp-usc1
                cloud: gcp
                kubeconfig: kc-gcp
            virtualClusters:
              - name: vc-batch
              - name: vc-inference
                quota: {GPU: 8, CPU: 64}
            pools:
              - name: cpu-small
                virtualCluster: vc-batch
                resources: {CPU: 4, memory: 16Gi}
              - name: gpu-l4
                virtualCluster: vc-inference
                resources: {CPU: 8, GPU: 1, memory: 32Gi}
                clusters: [aws-use1, gcp-usc1]
            """;

    private static final String POOL0_RESOURCES = "resources: {CPU: 4, memory: 16Gi}";
    private static final String POOL1_RESOURCES = "resources: {CPU: 8, GPU: 1, memory: 32Gi}";
    private static final String POOL1_CLUSTERS = "    clusters: [aws-use1, gcp-usc1]";

    @TempDir
    Path dir;

    @BeforeEach
    void writeKubeconfigs() throws IOException {
        Files.writeString(dir.resolve("kc-aws"), "apiVersion: v1\n");
        Files.writeString(dir.resolve("kc-gcp"), "apiVersion: v1\n");
    }

    private List<String> problems(String yaml) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse(yaml, dir));
        assertThat(e).as("config should have been rejected:\n%s", yaml).isNotNull();
        assertThat(e.getMessage()).isEqualTo(String.join("\n", e.problems()));
        return e.problems();
    }

    private static void assertProblems(List<String> actual, List<String> expectedStarts) {
        assertThat(actual).as("problems").hasSameSizeAs(expectedStarts);
        for (int i = 0; i < expectedStarts.size(); i++) {
            assertThat(actual.get(i)).as("problem %d of %s", i, actual).startsWith(expectedStarts.get(i));
        }
    }

    @Test
    void theBaseConfigIsValid() {
        assertThatCode(() -> ConfigLoader.parse(BASE, dir)).doesNotThrowAnyException();
    }

    static Stream<Arguments> oneMistake() {
        return Stream.of(
                // rayCluster
                edit("a missing headAddress", "  headAddress: 10.0.0.12:6379\n", "",
                        "rayCluster.headAddress: is required"),
                edit("a Ray cluster name too long for pod names", "  name: demo\n", "  name: " + "a".repeat(41) + "\n",
                        "rayCluster.name: must be a DNS label"),
                edit("a head address without a port", "headAddress: 10.0.0.12:6379", "headAddress: 10.0.0.12",
                        "rayCluster.headAddress: must be host:port"),
                edit("a head address with port 70000", "headAddress: 10.0.0.12:6379", "headAddress: 10.0.0.12:70000",
                        "rayCluster.headAddress: the port must be from 1 to 65535"),
                edit("a head address that is no IPv4 address", "headAddress: 10.0.0.12:6379", "headAddress: 10.0.0.300:6379",
                        "rayCluster.headAddress: '10.0.0.300' is neither a host name nor an IPv4 address"),
                // api and management
                edit("a non-loopback API without a token", "listen: 127.0.0.1:8765", "listen: 0.0.0.0:8765",
                        "api.tokenFile: required when api.listen is not a loopback address (0.0.0.0:8765)"),
                edit("an IPv6 listener without brackets", "listen: 127.0.0.1:8765", "listen: ::1:8765",
                        "api.listen: an IPv6 address must be in brackets"),
                edit("a listener on port 0", "listen: 127.0.0.1:8765", "listen: 127.0.0.1:0",
                        "api.listen: the port must be from 1 to 65535"),
                edit("management on the API's port", "api:\n", "management: {listen: 0.0.0.0:8765}\napi:\n",
                        "management.listen: port 8765 is already api.listen's"),
                // clusters
                edit("a member name with capitals", "  - name: gcp-usc1\n", "  - name: GCP_usc1\n",
                        "clusters[1].name: must match [a-z0-9-]+",
                        "pools[1].clusters[1]: no member cluster named 'gcp-usc1'"),
                edit("two members with one name", "  - name: gcp-usc1\n    cloud: gcp\n", "  - name: aws-use1\n    cloud: gcp\n",
                        "clusters[1].name: 'aws-use1' is already used by clusters[0]",
                        "pools[1].clusters[1]: no member cluster named 'gcp-usc1'"),
                edit("a key written twice", "    cloud: gcp\n", "    cloud: gcp\n    cloud: gcp2\n",
                        "clusters[1].cloud: duplicate key"),
                edit("a namespace that is no DNS label", "    cloud: gcp\n", "    cloud: gcp\n    namespace: Ray_Workers\n",
                        "clusters[1].namespace: must be a DNS label"),
                edit("an unknown capacity mode", "    cloud: gcp\n", "    cloud: gcp\n    capacity: unlimited\n",
                        "clusters[1].capacity: must be auto or static (got 'unlimited')"),
                edit("static capacity without staticCapacity", "    cloud: gcp\n", "    cloud: gcp\n    capacity: static\n",
                        "clusters[1].staticCapacity: is required when capacity is static"),
                edit("a staticCapacity that is no quantity", "    cloud: gcp\n", "    cloud: gcp\n    staticCapacity: {CPU: many}\n",
                        "clusters[1].staticCapacity.CPU: must be a number or a Kubernetes quantity"),
                edit("a negative price", "price: {CPU: 0.031}", "price: {CPU: -0.031}",
                        "clusters[0].price.CPU: must be >= 0"),
                edit("a price for an unknown resource", "price: {CPU: 0.031}", "price: {cpu: 0.031}",
                        "clusters[0].price.cpu: unknown resource: use CPU, GPU, memory or an extended resource name"),
                edit("a GPU resource name without a domain", "    cloud: gcp\n", "    cloud: gcp\n    gpuResourceName: gpu\n",
                        "clusters[1].gpuResourceName: must be an extended resource name such as nvidia.com/gpu"),
                edit("a priority that is not a number", "    cloud: gcp\n", "    cloud: gcp\n    priority: high\n",
                        "clusters[1].priority: must be a whole number, not a string ('high')"),
                edit("elastic that is not a boolean", "    cloud: gcp\n", "    cloud: gcp\n    elastic: maybe\n",
                        "clusters[1].elastic: must be true or false, not a string ('maybe')"),
                edit("an empty member list", BASE.substring(BASE.indexOf("clusters:\n"), BASE.indexOf("virtualClusters:")),
                        "clusters: []\n",
                        "clusters: must list at least one member Kubernetes cluster",
                        "pools[1].clusters[0]: no member cluster named 'aws-use1'",
                        "pools[1].clusters[1]: no member cluster named 'gcp-usc1'"),
                // virtual clusters
                edit("two virtual clusters with one name", "  - name: vc-inference\n", "  - name: vc-batch\n",
                        "virtualClusters[1].name: 'vc-batch' is already used by virtualClusters[0]",
                        "pools[1].virtualCluster: 'vc-inference' is not declared in virtualClusters (declared: vc-batch)"),
                edit("a quota of zero", "quota: {GPU: 8, CPU: 64}", "quota: {GPU: 0, CPU: 64}",
                        "virtualClusters[1].quota.GPU: must be > 0"),
                edit("minWorkers beyond the quota", POOL1_CLUSTERS, POOL1_CLUSTERS + "\n    minWorkers: 9",
                        "virtualClusters[1].quota.GPU: the minWorkers of this virtual cluster's pools need 9 (gpu-l4: 9 x 1), more than this quota of 8",
                        "virtualClusters[1].quota.CPU: the minWorkers of this virtual cluster's pools need 72 (gpu-l4: 9 x 8), more than this quota of 64"),
                // pools
                edit("a GPU count below zero", POOL1_RESOURCES, "resources: {CPU: 8, GPU: -1, memory: 32Gi}",
                        "pools[1].resources.GPU: must be >= 0"),
                edit("half a GPU", POOL1_RESOURCES, "resources: {CPU: 8, GPU: 0.5, memory: 32Gi}",
                        "pools[1].resources.GPU: must be a whole number"),
                edit("a fractional extended resource", POOL0_RESOURCES, "resources: {CPU: 4, example.com/fpga: 500m}",
                        "pools[0].resources.example.com/fpga: must be a whole number"),
                edit("the member's GPU name instead of GPU", POOL0_RESOURCES, "resources: {CPU: 4, nvidia.com/gpu: 1}",
                        "pools[0].resources.nvidia.com/gpu: write GPU instead"),
                edit("a lower-case resource name", POOL0_RESOURCES, "resources: {cpu: 4, memory: 16Gi}",
                        "pools[0].resources.cpu: unknown resource: use CPU, GPU, memory or an extended resource name containing '/' such as example.com/fpga (did you mean CPU?)"),
                edit("memory without a unit", POOL0_RESOURCES, "resources: {CPU: 4, memory: 32}",
                        "pools[0].resources.memory: must be at least 1Mi"),
                edit("memory that is no quantity", POOL0_RESOURCES, "resources: {CPU: 4, memory: lots}",
                        "pools[0].resources.memory: must be a number or a Kubernetes quantity such as 8, 500m or 32Gi, not a string ('lots')"),
                edit("a worker that asks for nothing", POOL0_RESOURCES, "resources: {CPU: 0}",
                        "pools[0].resources: must ask for some CPU, GPU or memory"),
                edit("a pool without resources", "    " + POOL0_RESOURCES + "\n", "",
                        "pools[0].resources: is required"),
                edit("a worker bigger than its quota", POOL1_RESOURCES, "resources: {CPU: 8, GPU: 16, memory: 32Gi}",
                        "pools[1].resources.GPU: 16 per worker cannot fit virtual cluster 'vc-inference' quota of 8 even once"),
                edit("an undeclared virtual cluster", "virtualCluster: vc-batch", "virtualCluster: vc-nope",
                        "pools[0].virtualCluster: 'vc-nope' is not declared in virtualClusters (declared: vc-batch, vc-inference)"),
                edit("two pools with one Ray node type", POOL1_CLUSTERS, POOL1_CLUSTERS + "\n    rayNodeType: cpu-small",
                        "pools[1].rayNodeType: 'cpu-small' is already used by pools[0]"),
                edit("two pools with one name", "  - name: gpu-l4\n", "  - name: cpu-small\n",
                        "pools[1].name: 'cpu-small' is already used by pools[0] (must be unique)"),
                edit("a pool named like another pool's Ray node type", POOL1_CLUSTERS, POOL1_CLUSTERS
                                + "\n    rayNodeType: cpu-large\n  - name: cpu-large\n    virtualCluster: vc-batch\n    resources: {CPU: 1}",
                        "pools[2].rayNodeType: 'cpu-large' is already used by pools[1]"),
                edit("a Ray node type with a space", POOL1_CLUSTERS, POOL1_CLUSTERS + "\n    rayNodeType: gpu l4",
                        "pools[1].rayNodeType: must match [A-Za-z0-9_.-]+"),
                edit("a pool name that starts with a digit", "  - name: cpu-small\n", "  - name: 1cpu\n",
                        "pools[0].name: must match [a-z0-9-]+, start with a letter"),
                edit("a pool on an undeclared member", POOL1_CLUSTERS, "    clusters: [aws-use1, azure-eus]",
                        "pools[1].clusters[1]: no member cluster named 'azure-eus' (members: aws-use1, gcp-usc1)"),
                edit("a pool on no member at all", POOL1_CLUSTERS, "    clusters: []",
                        "pools[1].clusters: must name at least one member"),
                edit("an override for a member the pool may not use", POOL1_CLUSTERS,
                        "    clusters: [gcp-usc1]\n    overrides: {aws-use1: {spec: {nodeSelector: {a: b}}}}",
                        "pools[1].overrides.aws-use1: 'aws-use1' is not one of this pool's members (gcp-usc1)"),
                edit("an override for an undeclared member", POOL1_CLUSTERS,
                        POOL1_CLUSTERS + "\n    overrides: {azure-eus: {spec: {}}}",
                        "pools[1].overrides.azure-eus: no member cluster named 'azure-eus'"),
                edit("maxWorkers below minWorkers", POOL0_RESOURCES, POOL0_RESOURCES + "\n    minWorkers: 5\n    maxWorkers: 2",
                        "pools[0].maxWorkers: must be >= minWorkers (5)"),
                edit("maxWorkers of zero", POOL0_RESOURCES, POOL0_RESOURCES + "\n    maxWorkers: 0",
                        "pools[0].maxWorkers: must be >= 1"),
                edit("negative minWorkers", POOL0_RESOURCES, POOL0_RESOURCES + "\n    minWorkers: -1",
                        "pools[0].minWorkers: must be >= 0"),
                edit("an unknown strategy", POOL0_RESOURCES, POOL0_RESOURCES + "\n    strategy: random",
                        "pools[0].strategy: must be one of priority, spread, most-free, cheapest, pack (got 'random')"),
                edit("cheapest on members without prices", POOL1_CLUSTERS, "    clusters: [gcp-usc1]\n    strategy: cheapest",
                        "pools[1].strategy: cheapest needs a price on at least one of this pool's members"),
                edit("a label under Ray's reserved prefix", POOL0_RESOURCES, POOL0_RESOURCES + "\n    labels: {ray.io/zone: a}",
                        "pools[0].labels.ray.io/zone: label keys under ray.io/ are reserved"),
                edit("a label value with a space", POOL0_RESOURCES, POOL0_RESOURCES + "\n    labels: {tier: 'very big'}",
                        "pools[0].labels.tier: must be at most 63 of [A-Za-z0-9_.-]"),
                edit("a custom Ray resource of zero", POOL0_RESOURCES, POOL0_RESOURCES + "\n    rayResources: {fpga: 0}",
                        "pools[0].rayResources.fpga: must be > 0"),
                edit("CPU given as a custom Ray resource", POOL0_RESOURCES, POOL0_RESOURCES + "\n    rayResources: {CPU: 2}",
                        "pools[0].rayResources.CPU: set CPU in resources, not rayResources"),
                edit("half a custom Ray resource", POOL0_RESOURCES, POOL0_RESOURCES + "\n    rayResources: {slots: 0.5}",
                        "pools[0].rayResources.slots: must be a whole number (got 0.5): a Ray node refuses fractional resources"),
                edit("a custom Ray resource of 1.5", POOL0_RESOURCES, POOL0_RESOURCES + "\n    rayResources: {slots: 1.5}",
                        "pools[0].rayResources.slots: must be a whole number (got 1.5)"),
                edit("a custom Ray resource above Ray's limit", POOL0_RESOURCES, POOL0_RESOURCES + "\n    rayResources: {slots: 1e15}",
                        "pools[0].rayResources.slots: must be at most 100000000000000 (Ray's limit)"),
                edit("a custom Ray resource named like Ray's node resources", POOL0_RESOURCES,
                        POOL0_RESOURCES + "\n    rayResources: {'node:10.0.0.1': 1}",
                        "pools[0].rayResources.node:10.0.0.1: resource names starting with node: are reserved"),
                edit("a template that is not a map", POOL0_RESOURCES, POOL0_RESOURCES + "\n    template: rayproject/ray",
                        "pools[0].template: must be a map, not a string ('rayproject/ray')"),
                edit("an imagePullPolicy the API server would refuse (422)", POOL0_RESOURCES, POOL0_RESOURCES
                                + "\n    template: {spec: {containers: [{name: ray-worker, image: img, imagePullPolicy: Sometimes}]}}",
                        "pools[0].template.spec.containers[0].imagePullPolicy: must be one of Always, IfNotPresent, Never, not 'Sometimes'"),
                edit("a restartPolicy the API server would refuse (422)", POOL0_RESOURCES, POOL0_RESOURCES
                                + "\n    template: {spec: {restartPolicy: Sometimes}}",
                        "pools[0].template.spec.restartPolicy: must be one of Always, OnFailure, Never, not 'Sometimes'"),
                // timing
                edit("a duration without a unit", "api:\n", "timing: {requestTimeout: 30}\napi:\n",
                        "timing.requestTimeout: must be a duration with a unit, such as 500ms, 10s or 2m (got 30)"),
                edit("a duration in an unknown unit", "api:\n", "timing: {memberStartTimeout: 1d}\napi:\n",
                        "timing.memberStartTimeout: must be a duration such as 500ms, 10s or 2m (got '1d')"),
                // resilience
                edit("a breaker that needs more calls than it remembers", "api:\n",
                        "resilience: {breaker: {slidingWindowSize: 4, minimumCalls: 5}}\napi:\n",
                        "resilience.breaker.minimumCalls: must be <= slidingWindowSize (4): the breaker only remembers 4 calls"),
                edit("a minimumCalls above the default window", "api:\n", "resilience: {breaker: {minimumCalls: 11}}\napi:\n",
                        "resilience.breaker.minimumCalls: must be <= slidingWindowSize (10)"),
                edit("a window of zero calls", "api:\n", "resilience: {breaker: {slidingWindowSize: 0}}\napi:\n",
                        "resilience.breaker.slidingWindowSize: must be >= 1"),
                edit("a failure rate of 0%", "api:\n", "resilience: {breaker: {failureRateThreshold: 0}}\napi:\n",
                        "resilience.breaker.failureRateThreshold: must be a percentage from 1 to 100 (got 0)"),
                edit("a slow-call rate over 100%", "api:\n", "resilience: {breaker: {slowCallRateThreshold: 120}}\napi:\n",
                        "resilience.breaker.slowCallRateThreshold: must be a percentage from 1 to 100 (got 120)"),
                edit("a percentage with decimals", "api:\n", "resilience: {breaker: {failureRateThreshold: 50.5}}\napi:\n",
                        "resilience.breaker.failureRateThreshold: must be a whole number, not a number (50.5)"),
                edit("an open-state wait of zero", "api:\n", "resilience: {breaker: {waitInOpenState: 0s}}\napi:\n",
                        "resilience.breaker.waitInOpenState: must be longer than 0"),
                edit("a slow-call duration without a unit", "api:\n", "resilience: {breaker: {slowCallDuration: 5}}\napi:\n",
                        "resilience.breaker.slowCallDuration: must be a duration with a unit, such as 500ms, 10s or 2m (got 5)"),
                edit("no half-open trial calls", "api:\n", "resilience: {breaker: {halfOpenCalls: 0}}\napi:\n",
                        "resilience.breaker.halfOpenCalls: must be >= 1"),
                edit("a bulkhead without slots", "api:\n", "resilience: {bulkhead: {maxConcurrentCalls: 0}}\napi:\n",
                        "resilience.bulkhead.maxConcurrentCalls: must be >= 1"),
                edit("a bulkhead wait in days", "api:\n", "resilience: {bulkhead: {maxWait: 1d}}\napi:\n",
                        "resilience.bulkhead.maxWait: must be a duration such as 500ms, 10s or 2m (got '1d')"),
                edit("a rate limit of zero", "api:\n", "resilience: {rateLimit: {requestsPerSecond: 0}}\napi:\n",
                        "resilience.rateLimit.requestsPerSecond: must be >= 1"),
                edit("too many attempts", "api:\n", "resilience: {retries: {maxAttempts: 11}}\napi:\n",
                        "resilience.retries.maxAttempts: must be <= 10"),
                edit("a maximum backoff below the initial one", "api:\n",
                        "resilience: {retries: {initialBackoff: 3s, maxBackoff: 1s}}\napi:\n",
                        "resilience.retries.maxBackoff: must be >= initialBackoff (3s)"),
                edit("a maximum backoff below the default initial one", "api:\n", "resilience: {retries: {maxBackoff: 100ms}}\napi:\n",
                        "resilience.retries.maxBackoff: must be >= initialBackoff (200ms)"),
                edit("a probe interval of zero", "api:\n", "resilience: {probe: {interval: 0s}}\napi:\n",
                        "resilience.probe.interval: must be longer than 0"),
                edit("a probe timeout without a unit", "api:\n", "resilience: {probe: {timeout: 1500}}\napi:\n",
                        "resilience.probe.timeout: must be a duration with a unit, such as 500ms, 10s or 2m (got 1500)"),
                edit("a probe that never counts a member unreachable", "api:\n",
                        "resilience: {probe: {failuresToUnreachable: 0}}\napi:\n",
                        "resilience.probe.failuresToUnreachable: must be >= 1"),
                edit("a probe that waits for 11 failures", "api:\n", "resilience: {probe: {failuresToUnreachable: 11}}\napi:\n",
                        "resilience.probe.failuresToUnreachable: must be <= 10"),
                edit("a hold-out from the 0th flap", "api:\n", "resilience: {holdOut: {afterFlaps: 0}}\napi:\n",
                        "resilience.holdOut.afterFlaps: must be >= 1"),
                edit("a hold-out whose maximum is below its start", "api:\n",
                        "resilience: {holdOut: {initial: 1m, max: 30s}}\napi:\n",
                        "resilience.holdOut.max: must be >= initial (1m)"),
                edit("a hold-out maximum below the default start", "api:\n", "resilience: {holdOut: {max: 10s}}\napi:\n",
                        "resilience.holdOut.max: must be >= initial (30s)"),
                edit("a create deadline the plugin does not wait for", "api:\n", "resilience: {create: {deadline: 4s}}\napi:\n",
                        "resilience.create.deadline: must be shorter than the autoscaler plugin's timeout of 4s: "
                                + "Ray would give up on the create first"),
                edit("a create attempt longer than the deadline", "api:\n",
                        "resilience: {create: {attemptTimeout: 3s, deadline: 2s}}\napi:\n",
                        "resilience.create.attemptTimeout: must be <= deadline (2s)"),
                edit("a create attempt longer than the default deadline", "api:\n",
                        "resilience: {create: {attemptTimeout: 3600ms}}\napi:\n",
                        "resilience.create.attemptTimeout: must be <= deadline (3500ms)"),
                edit("a create deadline of zero", "api:\n", "resilience: {create: {deadline: 0ms}}\napi:\n",
                        "resilience.create.deadline: must be longer than 0"),
                edit("a probe as a string", "api:\n", "resilience: {probe: fast}\napi:\n",
                        "resilience.probe: must be a map, not a string ('fast')"),
                edit("resilience as a list", "api:\n", "resilience: [breaker]\napi:\n",
                        "resilience: must be a map, not a list"),
                edit("a breaker as a number", "api:\n", "resilience: {breaker: 5}\napi:\n",
                        "resilience.breaker: must be a map, not a number (5)"),
                // types
                edit("rayCluster as a string", "rayCluster:\n  name: demo\n  headAddress: 10.0.0.12:6379\n", "rayCluster: demo\n",
                        "rayCluster: must be a map, not a string ('demo')"),
                edit("resources as a list", POOL0_RESOURCES, "resources: [4, 16Gi]",
                        "pools[0].resources: must be a map, not a list"),
                edit("a pool that is a string", "pools:\n", "pools:\n  - cpu-tiny\n",
                        "pools[0]: must be a map, not a string ('cpu-tiny')"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("oneMistake")
    void reportsTheFieldAtFault(String description, String yaml, List<String> expected) {
        assertProblems(problems(yaml), expected);
    }

    private static Arguments edit(String description, String find, String replace, String... expected) {
        if (!BASE.contains(find)) {
            throw new IllegalArgumentException("case '" + description + "': base config has no '" + find + "'");
        }
        return Arguments.of(description, BASE.replace(find, replace), List.of(expected));
    }

    @Nested
    class UnknownKeys {

        static Stream<Arguments> everyLevel() {
            return Stream.of(
                    Arguments.of("rayCluster:\n", "rayCluster:\n  frobnicate: 1\n", "rayCluster.frobnicate"),
                    Arguments.of("api:\n", "api:\n  frobnicate: 1\n", "api.frobnicate"),
                    Arguments.of("api:\n", "management: {frobnicate: 1}\napi:\n", "management.frobnicate"),
                    Arguments.of("    cloud: gcp\n", "    cloud: gcp\n    frobnicate: 1\n", "clusters[1].frobnicate"),
                    Arguments.of("  - name: vc-batch\n", "  - name: vc-batch\n    frobnicate: 1\n", "virtualClusters[0].frobnicate"),
                    Arguments.of(POOL0_RESOURCES, POOL0_RESOURCES + "\n    frobnicate: 1", "pools[0].frobnicate"),
                    Arguments.of("api:\n", "timing: {frobnicate: 1}\napi:\n", "timing.frobnicate"),
                    Arguments.of("api:\n", "resilience: {frobnicate: 1}\napi:\n", "resilience.frobnicate"),
                    Arguments.of("api:\n", "resilience: {breaker: {frobnicate: 1}}\napi:\n", "resilience.breaker.frobnicate"),
                    Arguments.of("api:\n", "resilience: {bulkhead: {frobnicate: 1}}\napi:\n", "resilience.bulkhead.frobnicate"),
                    Arguments.of("api:\n", "resilience: {rateLimit: {frobnicate: 1}}\napi:\n", "resilience.rateLimit.frobnicate"),
                    Arguments.of("api:\n", "resilience: {retries: {frobnicate: 1}}\napi:\n", "resilience.retries.frobnicate"),
                    Arguments.of("api:\n", "resilience: {probe: {frobnicate: 1}}\napi:\n", "resilience.probe.frobnicate"),
                    Arguments.of("api:\n", "resilience: {holdOut: {frobnicate: 1}}\napi:\n", "resilience.holdOut.frobnicate"),
                    Arguments.of("api:\n", "resilience: {create: {frobnicate: 1}}\napi:\n", "resilience.create.frobnicate"),
                    Arguments.of("api:\n", "frobnicate: 1\napi:\n", "frobnicate"));
        }

        @ParameterizedTest(name = "{2}")
        @MethodSource("everyLevel")
        void areReportedAtEveryLevel(String find, String replace, String path) {
            assertThat(BASE).contains(find);

            assertProblems(problems(BASE.replace(find, replace)), List.of(path + ": unknown key (expected one of: "));
        }

        @Test
        void aNearMissIsNamed() {
            String yaml = BASE.replace(POOL0_RESOURCES, POOL0_RESOURCES + "\n    maxWorker: 3");

            assertThat(problems(yaml)).containsExactly("pools[0].maxWorker: unknown key (did you mean maxWorkers?)");
        }

        @Test
        void aNearMissInTheResilienceSectionIsNamed() {
            String yaml = BASE.replace("api:\n", "resilience: {breaker: {minimumCall: 3}}\napi:\n");

            assertThat(problems(yaml)).containsExactly("resilience.breaker.minimumCall: unknown key (did you mean minimumCalls?)");
        }

        @Test
        void podFieldsInTemplatesAndOverridesAreNotConfigKeys() {
            String yaml = BASE.replace(POOL1_CLUSTERS, POOL1_CLUSTERS + "\n"
                    + "    template:\n"
                    + "      metadata: {annotations: {team: inference}}\n"
                    + "      spec:\n"
                    + "        priorityClassName: ray-workers\n"
                    + "        containers: [{name: ray-worker, image: rayproject/ray:2.60.0-gpu}]\n"
                    + "    overrides:\n"
                    + "      gcp-usc1:\n"
                    + "        spec:\n"
                    + "          schedulerName: gke-scheduler\n"
                    + "          tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]");

            assertThatCode(() -> ConfigLoader.parse(yaml, dir)).doesNotThrowAnyException();
        }
    }

    @Nested
    class PodTemplates {

        @Test
        void templateProblemsFoundByThePodValidatorCarryTheirFullPath() {
            String yaml = BASE.replace(POOL0_RESOURCES, POOL0_RESOURCES + "\n"
                    + "    template: {spec: {containers: [{name: ray-worker, image: img}, {name: log-shipper}]}}");

            assertThat(problems(yaml)).singleElement().asString()
                    .startsWith("pools[0].template.spec.containers[1].image: ");
        }

        @Test
        void anOverrideIsCheckedAsMergedOverThePoolsTemplate() {
            String yaml = BASE.replace(POOL1_CLUSTERS, POOL1_CLUSTERS + "\n"
                    + "    template: {spec: {containers: [{name: ray-worker, image: img}]}}\n"
                    + "    overrides:\n"
                    + "      aws-use1: {spec: {containers: [{name: ray-worker, image: mirror.example.com/img}]}}\n"
                    + "      gcp-usc1: {spec: {tolerations: [{key: nvidia.com/gpu, operator: Maybe}]}}");

            assertThat(problems(yaml)).singleElement().asString()
                    .startsWith("pools[1].overrides.gcp-usc1.spec.tolerations[0].operator: ");
        }
    }

    @Nested
    class ManyProblems {

        @Test
        void areAllReportedInTheOrderOfTheFile() {
            String yaml = """
                    rayCluster:
                      name: Demo
                    clusters:
                      - name: aws-use1
                        kubeconfig: kc-nope
                        priority: 1.5
                    pools:
                      - name: gpu
                        virtualCluster: vc-gpu
                        resources: {GPU: -1}
                        strategy: fastest
                    virtualClusters:
                      - name: vc-batch
                        quota: {GPU: 0}
                    """;

            assertThat(problems(yaml)).containsExactly(
                    "rayCluster.name: must be a DNS label: [a-z0-9-], starting and ending with a letter or digit, at most 40 characters (got 'Demo')",
                    "rayCluster.headAddress: is required",
                    "clusters[0].kubeconfig: file not found: " + dir.resolve("kc-nope"),
                    "clusters[0].priority: must be a whole number, not a number (1.5)",
                    "pools[0].virtualCluster: 'vc-gpu' is not declared in virtualClusters (declared: vc-batch)",
                    "pools[0].resources.GPU: must be >= 0",
                    "pools[0].strategy: must be one of priority, spread, most-free, cheapest, pack (got 'fastest')",
                    "virtualClusters[0].quota.GPU: must be > 0 (a quota of 0 cannot be stored; omit GPU for no limit, "
                            + "or keep it out of this virtual cluster's pools)");
        }

        @Test
        void missingSectionsAreEachNamed() {
            assertThat(problems("api: {listen: 127.0.0.1:8765}\n")).containsExactly(
                    "rayCluster: is required (with name and headAddress)",
                    "clusters: is required: list at least one member Kubernetes cluster",
                    "pools: is required: list at least one pool (one Ray worker node type each)");
        }
    }

    @Nested
    class FilesTheConfigNames {

        @Test
        void aMissingTokenFileIsNamedWithItsPath() {
            String yaml = BASE.replace("listen: 127.0.0.1:8765", "listen: 0.0.0.0:8765\n  tokenFile: secrets/token");

            assertThat(problems(yaml)).containsExactly("api.tokenFile: file not found: " + dir.resolve("secrets/token"));
        }

        @Test
        void anEmptyTokenFileIsRefused() throws IOException {
            Files.writeString(dir.resolve("token"), "\n");
            String yaml = BASE.replace("listen: 127.0.0.1:8765", "listen: 0.0.0.0:8765\n  tokenFile: token");

            assertThat(problems(yaml)).containsExactly("api.tokenFile: the token file is empty: " + dir.resolve("token"));
        }

        @Test
        void aDirectoryIsNotAKubeconfig() throws IOException {
            Files.createDirectory(dir.resolve("kubeconfigs"));
            String yaml = BASE.replace("kubeconfig: kc-gcp", "kubeconfig: kubeconfigs");

            assertThat(problems(yaml)).containsExactly("clusters[1].kubeconfig: not a regular file: " + dir.resolve("kubeconfigs"));
        }
    }

    @Nested
    class NotAConfigAtAll {

        @ParameterizedTest(name = "[{index}] {0}")
        @ValueSource(strings = {"", "   \n", "# only a comment\n", "~\n"})
        void anEmptyFileIsOneClearProblem(String text) {
            assertThat(problems(text)).containsExactly("config: is empty (expected a YAML map with rayCluster, clusters and pools)");
        }

        @Test
        void brokenYamlIsOneProblemWithItsLine() {
            assertThat(problems("rayCluster:\n  name: [demo\n")).singleElement().asString()
                    .startsWith("config: is not valid YAML: ")
                    .contains("line 3");
        }

        @Test
        void textThatIsNotAMapIsOneProblem() {
            assertThat(problems("this is not a config\n"))
                    .containsExactly("config: must be a map at the top, not a string ('this is not a config') "
                            + "(expected a YAML map with rayCluster, clusters and pools)");
            assertThat(problems("- rayCluster\n")).singleElement().asString().startsWith("config: must be a map at the top, not a list");
        }

        @Test
        void loadNamesTheFileInTheProblem() throws IOException {
            Path file = Files.writeString(dir.resolve("empty.yaml"), "");

            ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(file));

            assertThat(e.problems()).containsExactly(file + ": is empty (expected a YAML map with rayCluster, clusters and pools)");
        }
    }
}
