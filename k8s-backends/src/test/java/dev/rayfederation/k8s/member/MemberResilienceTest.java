package dev.rayfederation.k8s.member;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.ScenarioMappingBuilder;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.matching.RequestPatternBuilder;
import com.github.tomakehurst.wiremock.stubbing.Scenario;
import dev.rayfederation.k8s.resilience.BreakerRegistry;
import dev.rayfederation.k8s.resilience.BreakerStatus;
import dev.rayfederation.k8s.resilience.BreakerTransition;
import dev.rayfederation.k8s.resilience.CallRefusedException;
import dev.rayfederation.k8s.resilience.ResilienceOptions;
import dev.rayfederation.k8s.resilience.ResilienceOptions.BreakerSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.BulkheadSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.RateLimitSettings;
import dev.rayfederation.k8s.resilience.ResilienceOptions.RetrySettings;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.render.WorkerPodSpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.delete;
import static com.github.tomakehurst.wiremock.client.WireMock.deleteRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static dev.rayfederation.k8s.member.Fabric8MemberClusterTest.NS;
import static dev.rayfederation.k8s.member.Fabric8MemberClusterTest.join;
import static dev.rayfederation.k8s.member.Fabric8MemberClusterTest.worker;
import static dev.rayfederation.k8s.testing.KubeObjects.node;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

/**
 * Members reached through WireMock, which proxies every request to a fabric8 mock API server and injects faults
 * (5xx, 429 with Retry-After, resets, no answer, slow answers) on pod creation and deletion. Breakers here look
 * at the last 6 calls, open from 3 calls on when half of them failed, and stay open 2s; fabric8's own retries are
 * off. A member's start-up access check is its first call (a success), so two failed creates make 2 of 3.
 */
class MemberResilienceTest {

    static final Duration PATIENCE = Duration.ofSeconds(30);
    static final String PODS = "/api/v1/namespaces/" + NS + "/pods";
    static final BreakerSettings BREAKER = new BreakerSettings(6, 3, 50, 80, Duration.ofSeconds(5), Duration.ofSeconds(2), 2);

    @TempDir
    Path dir;

    final List<AutoCloseable> servers = new ArrayList<>();
    final List<AutoCloseable> members = new ArrayList<>();
    final BreakerRegistry breakers = new BreakerRegistry();
    final AtomicInteger nodeIds = new AtomicInteger();

    /** Members first: a member still reconnecting keeps opening watches that a closing mock server waits for. */
    @AfterEach
    void closeEverything() throws Exception {
        for (int i = members.size() - 1; i >= 0; i--) {
            members.get(i).close();
        }
        for (AutoCloseable s : servers) {
            s.close();
        }
    }

    static ResilienceOptions resilience(BreakerSettings breaker, int maxAttempts) {
        return new ResilienceOptions(breaker, new BulkheadSettings(8, Duration.ofSeconds(1)),
                new RateLimitSettings(1000, Duration.ofSeconds(5)),
                new RetrySettings(maxAttempts, Duration.ofMillis(50), Duration.ofMillis(200), Duration.ofSeconds(5)));
    }

    static MemberClusterOptions options(ResilienceOptions resilience, Duration requestTimeout) {
        return MemberClusterOptions.defaults("demo")
                .withStartTimeout(Duration.ofSeconds(10))
                .withRetryInterval(Duration.ofMillis(300))
                .withRequestTimeout(requestTimeout)
                .withRequestRetries(0)
                .withUnreachableAfter(Duration.ofSeconds(30))
                .withResilience(resilience);
    }

    static MemberClusterSpec spec(String name, String cloud, Path kubeconfig) {
        return new MemberClusterSpec(name, cloud, "region", null, kubeconfig, name, NS, false, false, ResourceVector.EMPTY);
    }

    /** A mock member cluster with one node and a WireMock front that proxies everything to it. */
    final class Fronted {
        final MockMember server;
        final WireMockServer front;
        final Path kubeconfig;

        Fronted(String name) {
            this(name, 4);
        }

        /** @param threads how many requests the front answers at once */
        Fronted(String name, int threads) {
            server = MockMember.start(name, dir).withNamespace(NS).withNodes(node(name + "-1").cpu("64").memory("256Gi").build());
            servers.add(server);
            front = new WireMockServer(wireMockConfig().bindAddress("127.0.0.1").dynamicPort()
                    .containerThreads(Math.max(threads, 4) + 10)
                    .asynchronousResponseEnabled(true).asynchronousResponseThreads(threads));
            front.start();
            servers.add(front::stop);
            front.stubFor(any(anyUrl()).atPriority(10).willReturn(aResponse().proxiedFrom("http://127.0.0.1:" + server.port())));
            kubeconfig = MockMember.writeKubeconfig(dir.resolve(name + "-front.kubeconfig"), name, front.port());
        }

        /** A started member reaching this cluster through the front, with breakers from the test's registry. */
        MemberCluster member(String cloud, MemberClusterOptions options) throws Exception {
            MemberCluster m = connect(cloud, options);
            join(m.start());
            return m;
        }

        MemberCluster connect(String cloud, MemberClusterOptions options) {
            MemberClusterSpec spec = spec(server.name, cloud, kubeconfig);
            MemberCluster m = new Fabric8MemberCluster(spec, options, breakers, retryAfter -> MemberClients.open(spec, options,
                    Map.of(RetryAfterWatch.NAME, retryAfter, WatchesGoDirect.NAME, new WatchesGoDirect(front.port(), server.port()))));
            members.add(m);
            return m;
        }

        /** A fault on pod creation, ahead of the proxy. */
        void onCreate(ResponseDefinitionBuilder answer) {
            front.stubFor(post(urlPathEqualTo(PODS)).atPriority(1).willReturn(answer));
        }

        int requests(RequestPatternBuilder pattern) {
            return front.countRequestsMatching(pattern.build()).getCount();
        }

        int creates() {
            return requests(postRequestedFor(urlPathEqualTo(PODS)));
        }

        void healed() {
            front.resetMappings();
            front.stubFor(any(anyUrl()).atPriority(10).willReturn(aResponse().proxiedFrom("http://127.0.0.1:" + server.port())));
        }
    }

    /** A member reached directly, without a front. */
    MemberCluster direct(String name, String cloud) throws Exception {
        MockMember server = MockMember.start(name, dir).withNamespace(NS).withNodes(node(name + "-1").cpu("64").memory("256Gi").build());
        servers.add(server);
        MemberCluster m = MemberClusters.connect(spec(name, cloud, server.kubeconfig), options(resilience(BREAKER, 1), Duration.ofSeconds(5)), breakers);
        members.add(m);
        join(m.start());
        return m;
    }

    WorkerPodSpec nextWorker(MemberCluster m) {
        return worker("n-" + nodeIds.incrementAndGet(), m.name());
    }

    static Throwable failureOf(CompletionStage<?> stage) throws Exception {
        try {
            stage.toCompletableFuture().get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        }
        throw new AssertionError("expected the call to fail");
    }

    static ResponseDefinitionBuilder status(int code, String reason, String message) {
        return aResponse().withStatus(code).withHeader("Content-Type", "application/json").withBody("""
                {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"%s","reason":"%s","code":%d}"""
                .formatted(message, reason, code));
    }

    static ResponseDefinitionBuilder unavailable() {
        return status(503, "ServiceUnavailable", "the server is currently unable to handle the request");
    }

    @Nested
    @DisplayName("A burst of 5xx on pod creation")
    class BurstOf5xx {

        Fronted aws;
        MemberCluster member;
        final List<BreakerTransition> transitions = new CopyOnWriteArrayList<>();

        @BeforeEach
        void start() throws Exception {
            aws = new Fronted("aws-use1");
            member = aws.member("aws", options(resilience(BREAKER, 1), Duration.ofSeconds(5)));
            member.onBreakerTransition(transitions::add);
            aws.onCreate(unavailable());
        }

        @Test
        @DisplayName("opens the breaker once enough calls failed; later calls fail at once without a request")
        void opensTheBreakerOnceEnoughCallsFailed() throws Exception {
            Throwable first = failureOf(member.createWorker(nextWorker(member)));
            assertThat(first).isInstanceOf(MemberApiException.class).isNotInstanceOf(CallRefusedException.class);
            assertThat(((MemberApiException) first).statusCode()).isEqualTo(503);
            assertThat(member.acceptsPlacements()).as("2 calls so far, 3 needed").isTrue();

            Throwable second = failureOf(member.createWorker(nextWorker(member)));

            assertThat(((MemberApiException) second).statusCode()).isEqualTo(503);
            BreakerStatus breaker = member.breaker();
            assertThat(breaker.state()).isEqualTo(BreakerStatus.State.OPEN);
            assertThat(breaker.scope()).as("the member's cloud has no other member; its breaker opened with the member's")
                    .isEqualTo("cloud:aws");
            assertThat(breaker.reason()).isEqualTo("2 of 3 calls failed, last: aws-use1: HTTP 503: the server is currently unable to handle the request");
            assertThat(member.acceptsPlacements()).isFalse();
            assertThat(aws.creates()).isEqualTo(2);

            Throwable refused = failureOf(member.createWorker(nextWorker(member)));
            Throwable refusedDelete = failureOf(member.deleteWorker("demo-cpu-small-n-1"));

            assertThat(refused).isInstanceOf(CallRefusedException.class)
                    .hasMessageContaining("not sent: circuit breaker cloud:aws is open since")
                    .hasMessageContaining("2 of 3 calls failed");
            assertThat(((CallRefusedException) refused).byBreaker()).isTrue();
            assertThat(refusedDelete).isInstanceOf(CallRefusedException.class);
            assertThat(aws.creates()).as("refused calls never reach the API server").isEqualTo(2);
            assertThat(aws.requests(deleteRequestedFor(urlPathEqualTo(PODS + "/demo-cpu-small-n-1")))).isZero();
            assertThat(transitions).extracting(BreakerTransition::scope, BreakerTransition::to)
                    .containsExactlyInAnyOrder(
                            tuple("cloud:aws", BreakerStatus.State.OPEN),
                            tuple("member:aws-use1", BreakerStatus.State.OPEN));
        }

        @Test
        @DisplayName("after recovery, trial calls close the breaker again")
        void afterRecoveryTrialCallsCloseIt() throws Exception {
            for (int i = 0; i < 2; i++) {
                failureOf(member.createWorker(nextWorker(member)));
            }
            assertThat(member.breaker().state()).isEqualTo(BreakerStatus.State.OPEN);

            aws.healed();

            await().atMost(PATIENCE).pollInterval(Duration.ofMillis(200)).until(() -> {
                member.createWorker(nextWorker(member)).toCompletableFuture().handle((v, e) -> v).get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
                return member.breaker().state() == BreakerStatus.State.CLOSED;
            });
            assertThat(member.acceptsPlacements()).isTrue();
            assertThat(member.breaker().reason()).isEqualTo("2 trial calls succeeded");
            assertThat(transitions).filteredOn(t -> t.scope().equals("member:aws-use1")).extracting(BreakerTransition::to)
                    .containsExactly(BreakerStatus.State.OPEN, BreakerStatus.State.HALF_OPEN, BreakerStatus.State.CLOSED);
            join(member.createWorker(nextWorker(member)));
        }
    }

    @Nested
    @DisplayName("Members of one cloud share its breaker")
    class SharedCloudBreaker {

        @Test
        @DisplayName("failures through one member open the cloud's breaker: both of its members refuse, another cloud's does not")
        void failuresThroughOneMemberOpenTheCloudForAllItsMembers() throws Exception {
            List<BreakerTransition> everyTransition = new CopyOnWriteArrayList<>();
            breakers.onTransition(everyTransition::add);
            Fronted east = new Fronted("aws-use1");
            MemberCluster flaky = east.member("aws", options(resilience(BREAKER, 1), Duration.ofSeconds(5)));
            MemberCluster sibling = direct("aws-usw2", "aws");
            MemberCluster elsewhere = direct("gcp-usc1", "gcp");
            List<BreakerTransition> siblingHeard = new CopyOnWriteArrayList<>();
            sibling.onBreakerTransition(siblingHeard::add);
            east.onCreate(unavailable());

            for (int i = 0; i < 2; i++) {
                failureOf(flaky.createWorker(nextWorker(flaky)));
            }

            Throwable refused = failureOf(sibling.createWorker(nextWorker(sibling)));
            assertThat(refused).isInstanceOf(CallRefusedException.class);
            assertThat(((CallRefusedException) refused).guard()).isEqualTo("cloud:aws");
            assertThat(sibling.acceptsPlacements()).isFalse();
            assertThat(sibling.breaker().scope()).isEqualTo("cloud:aws");
            assertThat(siblingHeard).extracting(BreakerTransition::scope).containsExactly("cloud:aws");

            join(elsewhere.createWorker(nextWorker(elsewhere)));
            assertThat(elsewhere.acceptsPlacements()).isTrue();
            assertThat(elsewhere.breaker().state()).isEqualTo(BreakerStatus.State.CLOSED);
            assertThat(everyTransition).as("each breaker's transition is heard once by the registry")
                    .extracting(BreakerTransition::scope).containsExactlyInAnyOrder("cloud:aws", "member:aws-use1");
            assertThat(breakers.statuses()).extracting(BreakerStatus::scope, BreakerStatus::state).containsExactly(
                    tuple("cloud:aws", BreakerStatus.State.OPEN),
                    tuple("cloud:gcp", BreakerStatus.State.CLOSED),
                    tuple("member:aws-use1", BreakerStatus.State.OPEN),
                    tuple("member:aws-usw2", BreakerStatus.State.CLOSED),
                    tuple("member:gcp-usc1", BreakerStatus.State.CLOSED));
        }
    }

    @Nested
    @DisplayName("Throttling with Retry-After")
    class Throttling {

        Fronted aws;
        MemberCluster member;

        @BeforeEach
        void start() throws Exception {
            aws = new Fronted("aws-use1");
            member = aws.member("aws", options(resilience(BREAKER, 3), Duration.ofSeconds(5)));
        }

        /** The first create is answered like an overloaded API server does: 429, plain text, Retry-After. */
        void throttleFirstCreate(String retryAfter) {
            aws.front.stubFor(throttled().whenScenarioStateIs(Scenario.STARTED).willSetStateTo("throttled once")
                    .willReturn(aResponse().withStatus(429).withHeader("Retry-After", retryAfter)
                            .withHeader("Content-Type", "text/plain").withBody("Too many requests, please try again later.\n")));
        }

        ScenarioMappingBuilder throttled() {
            return post(urlPathEqualTo(PODS)).atPriority(1).inScenario("throttle");
        }

        @Test
        @DisplayName("a 429 is retried once after at least the Retry-After, and the create succeeds")
        void a429IsRetriedAfterTheRetryAfter() throws Exception {
            throttleFirstCreate("1");
            aws.front.stubFor(throttled().whenScenarioStateIs("throttled once")
                    .willReturn(aResponse().proxiedFrom("http://127.0.0.1:" + aws.server.port())));

            long started = System.nanoTime();
            join(member.createWorker(nextWorker(member)));
            Duration took = Duration.ofNanos(System.nanoTime() - started);

            assertThat(aws.creates()).isEqualTo(2);
            assertThat(took).as("waited for the Retry-After").isGreaterThanOrEqualTo(Duration.ofSeconds(1));
            assertThat(aws.server.admin().pods().inNamespace(NS).list().getItems()).hasSize(1);
        }

        @Test
        @DisplayName("a Retry-After beyond the cap ends the call at once")
        void aRetryAfterBeyondTheCapEndsTheCall() throws Exception {
            throttleFirstCreate("60");

            Throwable failure = failureOf(member.createWorker(nextWorker(member)));

            assertThat(failure).isInstanceOf(MemberApiException.class)
                    .hasMessageContaining("HTTP 429")
                    .hasMessageContaining("the API server asked to retry after 60s, longer than retries.maxRetryAfter (5s)");
            assertThat(aws.creates()).isEqualTo(1);
        }

        @Test
        @DisplayName("a Status with retryAfterSeconds is honoured like the header")
        void aStatusWithRetryAfterSecondsIsHonoured() throws Exception {
            aws.front.stubFor(throttled().whenScenarioStateIs(Scenario.STARTED).willSetStateTo("throttled once")
                    .willReturn(aResponse().withStatus(504).withHeader("Content-Type", "application/json").withBody("""
                            {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Timeout: request did not complete",\
                            "reason":"Timeout","details":{"retryAfterSeconds":1},"code":504}""")));
            aws.front.stubFor(throttled().whenScenarioStateIs("throttled once")
                    .willReturn(aResponse().proxiedFrom("http://127.0.0.1:" + aws.server.port())));

            long started = System.nanoTime();
            join(member.createWorker(nextWorker(member)));

            assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(Duration.ofSeconds(1));
            assertThat(aws.creates()).isEqualTo(2);
        }

        @Test
        @DisplayName("a delete answered 500 once is retried and succeeds")
        void aDeleteIsRetriedThroughA500() throws Exception {
            join(member.createWorker(worker("n-del", member.name())));
            String path = PODS + "/demo-cpu-small-n-del";
            aws.front.stubFor(delete(urlPathEqualTo(path)).atPriority(1).inScenario("delete")
                    .whenScenarioStateIs(Scenario.STARTED).willSetStateTo("failed once")
                    .willReturn(status(500, "InternalError", "etcdserver: leader changed")));
            aws.front.stubFor(delete(urlPathEqualTo(path)).atPriority(1).inScenario("delete")
                    .whenScenarioStateIs("failed once")
                    .willReturn(aResponse().proxiedFrom("http://127.0.0.1:" + aws.server.port())));

            assertThat(join(member.deleteWorker("demo-cpu-small-n-del"))).isTrue();
            assertThat(aws.requests(deleteRequestedFor(urlPathEqualTo(path)))).isEqualTo(2);
        }
    }

    @Nested
    @DisplayName("Resets, silence and slowness")
    class NetworkFaults {

        @Test
        @DisplayName("connection resets count as failures, are retried, and open the breaker")
        void connectionResetsCountAsFailures() throws Exception {
            Fronted aws = new Fronted("aws-use1");
            MemberCluster member = aws.member("aws", options(resilience(BREAKER, 2), Duration.ofSeconds(5)));
            aws.onCreate(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER));

            Throwable first = failureOf(member.createWorker(nextWorker(member)));

            assertThat(first).isInstanceOf(MemberApiException.class).isNotInstanceOf(CallRefusedException.class)
                    .hasMessageContaining("(2 attempts)");
            assertThat(((MemberApiException) first).statusCode()).isZero();
            assertThat(((MemberApiException) first).retryable()).isTrue();
            assertThat(aws.creates()).isEqualTo(2);
            assertThat(member.breaker().state()).as("2 of 3 calls failed").isEqualTo(BreakerStatus.State.OPEN);
            assertThat(member.breaker().reason()).startsWith("2 of 3 calls failed, last: aws-use1: ");

            assertThat(failureOf(member.createWorker(nextWorker(member)))).isInstanceOf(CallRefusedException.class);
            assertThat(aws.creates()).isEqualTo(2);
        }

        @Test
        @DisplayName("an API server that does not answer fails each attempt at the request timeout, never later")
        void noAnswerEndsAtTheRequestTimeout() throws Exception {
            Fronted aws = new Fronted("aws-use1");
            MemberCluster member = aws.member("aws", options(resilience(BREAKER, 2), Duration.ofSeconds(1)));
            aws.onCreate(aResponse().proxiedFrom("http://127.0.0.1:" + aws.server.port()).withFixedDelay(5_000));

            Throwable failure;
            try {
                member.createWorker(nextWorker(member)).toCompletableFuture().get(4, TimeUnit.SECONDS);
                throw new AssertionError("a create without an answer succeeded");
            } catch (ExecutionException e) {
                failure = e.getCause();
            }

            assertThat(failure).isInstanceOf(MemberApiException.class).hasMessageContaining("(2 attempts)");
            assertThat(((MemberApiException) failure).statusCode()).isZero();
            assertThat(aws.creates()).isEqualTo(2);
            assertThat(member.breaker().state()).as("timeouts count as failures").isEqualTo(BreakerStatus.State.OPEN);
        }

        @Test
        @DisplayName("slow answers open the breaker through the slow-call rate")
        void slowAnswersOpenTheBreaker() throws Exception {
            Fronted aws = new Fronted("aws-use1");
            BreakerSettings slowAt300ms = new BreakerSettings(6, 3, 50, 50, Duration.ofMillis(300), Duration.ofSeconds(2), 2);
            MemberCluster member = aws.member("aws", options(resilience(slowAt300ms, 1), Duration.ofSeconds(5)));
            aws.onCreate(aResponse().proxiedFrom("http://127.0.0.1:" + aws.server.port()).withFixedDelay(600));

            join(member.createWorker(nextWorker(member)));
            assertThat(member.breaker().state()).isEqualTo(BreakerStatus.State.CLOSED);
            join(member.createWorker(nextWorker(member)));

            assertThat(member.breaker().state()).isEqualTo(BreakerStatus.State.OPEN);
            // the two delayed creates are slow; the start-up access check may be slow too on a loaded machine
            assertThat(member.breaker().reason()).matches("[23] of 3 calls took longer than 300ms");
            assertThat(failureOf(member.createWorker(nextWorker(member)))).isInstanceOf(CallRefusedException.class);
        }
    }

    @Nested
    @DisplayName("Answers caused by our own request")
    class OurOwnMistakes {

        @Test
        @DisplayName("404 on delete, 409 AlreadyExists and 422 Invalid do not open the breaker and are not retried")
        void clientErrorsDoNotCountAgainstTheMember() throws Exception {
            Fronted aws = new Fronted("aws-use1");
            MemberCluster member = aws.member("aws", options(resilience(BREAKER, 3), Duration.ofSeconds(5)));
            WorkerPodSpec taken = worker("n-taken", member.name());
            join(member.createWorker(taken));
            aws.front.stubFor(post(urlPathEqualTo(PODS)).atPriority(1)
                    .withRequestBody(matchingJsonPath("$.metadata.name", equalTo("demo-cpu-small-n-invalid")))
                    .willReturn(status(422, "Invalid", "Pod \\\"demo-cpu-small-n-invalid\\\" is invalid")));

            for (int i = 0; i < 4; i++) {
                assertThat(join(member.deleteWorker("demo-cpu-small-gone-" + i))).isFalse();
                WorkerPodSpec clash = new WorkerPodSpec("n-other-" + i, taken.podName(), "demo", taken.headAddress(), taken.pool(),
                        taken.virtualCluster(), taken.rayNodeType(), taken.member(), null, null, taken.resources(), Map.of(), Map.of(),
                        Map.of(), Map.of(), Map.of(), null, null, 1, null);
                Throwable conflict = failureOf(member.createWorker(clash));
                assertThat(((MemberApiException) conflict).conflict()).isTrue();
                Throwable invalid = failureOf(member.createWorker(worker("n-invalid", member.name())));
                assertThat(((MemberApiException) invalid).statusCode()).isEqualTo(422);
            }
            assertThat(join(member.createWorker(taken)).nodeId()).as("AlreadyExists with our node id is a success").isEqualTo("n-taken");

            assertThat(member.breaker().state()).isEqualTo(BreakerStatus.State.CLOSED);
            assertThat(member.breaker().reason()).isNull();
            assertThat(aws.requests(postRequestedFor(urlPathEqualTo(PODS))
                    .withRequestBody(matchingJsonPath("$.metadata.name", equalTo("demo-cpu-small-n-invalid")))))
                    .as("not retried").isEqualTo(4);
            assertThat(aws.requests(deleteRequestedFor(urlPathEqualTo(PODS + "/demo-cpu-small-gone-0")))).isEqualTo(1);
        }
    }

    @Nested
    @DisplayName("A burst of creates beyond the member's concurrency limit")
    class Bursts {

        @Test
        @DisplayName("300 creates at once against 16 call slots and 50ms answers: every worker is created, none refused")
        void everyCreateOfABurstWaitsItsTurn() throws Exception {
            Fronted aws = new Fronted("aws-use1", 32);
            ResilienceOptions sixteenSlots = new ResilienceOptions(BREAKER, new BulkheadSettings(16, PATIENCE),
                    new RateLimitSettings(1000, PATIENCE), RetrySettings.defaults());
            MemberCluster member = aws.member("aws", options(sixteenSlots, Duration.ofSeconds(10)));
            aws.onCreate(aResponse().proxiedFrom("http://127.0.0.1:" + aws.server.port()).withFixedDelay(50));

            List<CompletableFuture<WorkerPod>> creates = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                creates.add(member.createWorker(nextWorker(member)).toCompletableFuture());
            }
            List<String> refused = new ArrayList<>();
            for (CompletableFuture<WorkerPod> c : creates) {
                try {
                    c.get(PATIENCE.toSeconds() * 2, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    refused.add(e.getCause().getMessage());
                }
            }

            assertThat(refused).as("creates refused").isEmpty();
            assertThat(aws.server.admin().pods().inNamespace(NS).list().getItems()).hasSize(300);
            assertThat(aws.creates()).as("each sent once").isEqualTo(300);
            assertThat(member.breaker().state()).isEqualTo(BreakerStatus.State.CLOSED);
        }
    }

    @Nested
    @DisplayName("Refusals of a pod by the member")
    class Refusals {

        Fronted aws;
        MemberCluster member;

        @BeforeEach
        void start() throws Exception {
            aws = new Fronted("aws-use1");
            member = aws.member("aws", options(resilience(BREAKER, 3), Duration.ofSeconds(5)));
        }

        /** Creates of the pod of {@code nodeId} are answered with {@code answer}; returns the refusal the caller sees. */
        MemberApiException refusal(String nodeId, ResponseDefinitionBuilder answer) throws Exception {
            aws.front.stubFor(post(urlPathEqualTo(PODS)).atPriority(1)
                    .withRequestBody(matchingJsonPath("$.metadata.name", equalTo("demo-cpu-small-" + nodeId)))
                    .willReturn(answer));
            Throwable failure = failureOf(member.createWorker(worker(nodeId, member.name())));
            assertThat(failure).isInstanceOf(MemberApiException.class).isNotInstanceOf(CallRefusedException.class);
            return (MemberApiException) failure;
        }

        @Test
        @DisplayName("invalid pods, policy denials and a full quota reach the caller classified, with the API server's words")
        void refusalsAreClassifiedWithTheServersMessage() throws Exception {
            String invalid = "Pod \\\"demo-cpu-small-bad-1\\\" is invalid: spec.containers[0].imagePullPolicy: Unsupported value: \\\"Sometimes\\\"";
            String podSecurity = "pods \\\"demo-cpu-small-bad-2\\\" is forbidden: violates PodSecurity \\\"restricted:latest\\\": "
                    + "allowPrivilegeEscalation != false";
            String priorityClass = "pods \\\"demo-cpu-small-bad-3\\\" is forbidden: no PriorityClass with name ray-high was found";
            String webhook = "admission webhook \\\"policy.example.com\\\" denied the request: images must come from our registry";
            String quota = "pods \\\"demo-cpu-small-bad-5\\\" is forbidden: exceeded quota: compute, requested: cpu=2, used: cpu=8, limited: cpu=8";

            MemberApiException e1 = refusal("bad-1", status(422, "Invalid", invalid));
            MemberApiException e2 = refusal("bad-2", status(403, "Forbidden", podSecurity));
            MemberApiException e3 = refusal("bad-3", status(403, "Forbidden", priorityClass));
            MemberApiException e4 = refusal("bad-4", status(403, "Forbidden", webhook));
            MemberApiException e5 = refusal("bad-5", status(403, "Forbidden", quota));

            assertThat(List.of(e1, e2, e3, e4, e5)).extracting(MemberApiException::kind).containsExactly(
                    MemberApiException.Kind.INVALID, MemberApiException.Kind.FORBIDDEN_BY_POLICY,
                    MemberApiException.Kind.FORBIDDEN_BY_POLICY, MemberApiException.Kind.FORBIDDEN_BY_POLICY,
                    MemberApiException.Kind.QUOTA_EXCEEDED);
            assertThat(List.of(e1, e2, e3, e4)).allMatch(MemberApiException::configurationFault);
            assertThat(e5.configurationFault()).as("a full quota is the member's capacity").isFalse();
            assertThat(e1.serverMessage()).isEqualTo("Pod \"demo-cpu-small-bad-1\" is invalid: spec.containers[0].imagePullPolicy: "
                    + "Unsupported value: \"Sometimes\"");
            assertThat(e3.serverMessage()).isEqualTo("pods \"demo-cpu-small-bad-3\" is forbidden: no PriorityClass with name ray-high was found");
            assertThat(e5.serverMessage()).startsWith("pods \"demo-cpu-small-bad-5\" is forbidden: exceeded quota: compute");
            assertThat(List.of(e1, e2, e3, e4, e5)).noneMatch(MemberApiException::retryable);

            assertThat(aws.creates()).as("none retried").isEqualTo(5);
            assertThat(member.breaker().state()).as("no outage").isEqualTo(BreakerStatus.State.CLOSED);
            assertThat(member.state()).isEqualTo(MemberState.HEALTHY);
            assertThat(join(member.createWorker(nextWorker(member))).member()).isEqualTo(member.name());
        }
    }

    @Nested
    @DisplayName("Credentials the member refuses")
    class Credentials {

        static ResponseDefinitionBuilder unauthorized() {
            return status(401, "Unauthorized", "Unauthorized");
        }

        @Test
        @DisplayName("a token refused at start-up makes the member unauthorized, not unreachable, until it is accepted")
        void aRefusedTokenMakesTheMemberUnauthorized() throws Exception {
            Fronted aws = new Fronted("aws-use1");
            aws.front.stubFor(any(anyUrl()).atPriority(1).willReturn(unauthorized()));
            MemberCluster member = aws.connect("aws", options(resilience(BREAKER, 3), Duration.ofSeconds(5)));

            member.start();

            await().atMost(PATIENCE).until(() -> member.state() == MemberState.UNAUTHORIZED);
            assertThat(member.state().wire()).isEqualTo("unauthorized");
            assertThat(member.stateReason()).isEqualTo("the API server http://127.0.0.1:" + aws.front.port()
                    + "/ refused our credentials: HTTP 401: Unauthorized");
            assertThat(member.acceptsPlacements()).isFalse();
            assertThat(member.breaker().state()).as("not an outage").isEqualTo(BreakerStatus.State.CLOSED);

            aws.healed();

            await().atMost(PATIENCE).until(() -> member.state() == MemberState.HEALTHY);
        }

        @Test
        @DisplayName("a token refused on a create makes a synced member unauthorized; it reconnects once the token works")
        void aTokenRefusedOnACreateMakesTheMemberUnauthorized() throws Exception {
            Fronted aws = new Fronted("aws-use1");
            MemberCluster member = aws.member("aws", options(resilience(BREAKER, 3), Duration.ofSeconds(5)));
            aws.onCreate(unauthorized());

            Throwable failure = failureOf(member.createWorker(nextWorker(member)));

            assertThat(((MemberApiException) failure).kind()).isEqualTo(MemberApiException.Kind.UNAUTHORIZED);
            // fabric8 itself reads the credentials again and repeats a request answered 401 once; the guard adds nothing
            assertThat(aws.creates()).as("not retried").isLessThanOrEqualTo(2);
            await().atMost(PATIENCE).until(() -> member.state() == MemberState.UNAUTHORIZED);
            assertThat(member.stateReason()).endsWith("refused our credentials: HTTP 401: Unauthorized");

            aws.healed();

            await().atMost(PATIENCE).until(() -> member.state() == MemberState.HEALTHY);
            assertThat(join(member.createWorker(nextWorker(member))).member()).isEqualTo("aws-use1");
        }

        @Test
        @DisplayName("a 403 worded by RBAC on a create is the member's credentials, not the pod's policy")
        void anRbacDenialIsUnauthorized() throws Exception {
            Fronted aws = new Fronted("aws-use1");
            MemberCluster member = aws.member("aws", options(resilience(BREAKER, 3), Duration.ofSeconds(5)));
            aws.onCreate(status(403, "Forbidden", "pods is forbidden: User \\\"system:serviceaccount:ray:federation\\\" "
                    + "cannot create resource \\\"pods\\\" in API group \\\"\\\" in the namespace \\\"" + NS + "\\\""));

            MemberApiException failure = (MemberApiException) failureOf(member.createWorker(nextWorker(member)));

            assertThat(failure.kind()).isEqualTo(MemberApiException.Kind.UNAUTHORIZED);
            assertThat(failure.configurationFault()).isFalse();
            await().atMost(PATIENCE).until(() -> member.state() == MemberState.UNAUTHORIZED);
            assertThat(member.stateReason()).contains("refused our credentials: HTTP 403: pods is forbidden: User "
                    + "\"system:serviceaccount:ray:federation\" cannot create resource \"pods\"");
        }

        @Test
        @DisplayName("a 401 hidden behind an HTTP/2 GOAWAY is seen as unauthorized, not as an unreachable member")
        void aGoAwayAfterA401IsUnauthorized() throws Exception {
            GoAwayServer server = new GoAwayServer();
            servers.add(server);
            Path kubeconfig = MockMember.writeKubeconfig(dir.resolve("goaway.kubeconfig"), "aws-use1", server.port());
            MemberClusterOptions options = options(resilience(BREAKER, 3), Duration.ofSeconds(5));
            MemberCluster member = MemberClusters.connect(spec("aws-use1", "aws", kubeconfig), options, breakers);
            members.add(member);

            member.start();

            await().atMost(PATIENCE).until(() -> member.state() != MemberState.SYNCING);
            assertThat(server.goAways).as("the client was sent a GOAWAY").hasPositiveValue();
            assertThat(member.state()).isEqualTo(MemberState.UNAUTHORIZED);
            assertThat(member.stateReason()).endsWith("refused our credentials: HTTP 401: Unauthorized");
            assertThat(member.breaker().state()).isEqualTo(BreakerStatus.State.CLOSED);
        }

        @Test
        @DisplayName("a kubeconfig whose user has a tokenFile: a rotated token is read from the file")
        void aRotatedTokenFileIsReadAgain() throws Exception {
            Fronted aws = new Fronted("aws-use1");
            Path tokenFile = dir.resolve("token");
            java.nio.file.Files.writeString(tokenFile, "first-token");
            Path kubeconfig = dir.resolve("token-file.kubeconfig");
            java.nio.file.Files.writeString(kubeconfig, java.nio.file.Files.readString(aws.kubeconfig)
                    .replace("token: " + MockMember.TOKEN, "tokenFile: " + tokenFile));
            acceptOnly(aws, "first-token");
            MemberClusterOptions options = options(resilience(BREAKER, 3), Duration.ofSeconds(5));
            MemberClusterSpec spec = spec("aws-use1", "aws", kubeconfig);
            MemberCluster member = new Fabric8MemberCluster(spec, options, breakers, retryAfter -> MemberClients.open(spec, options,
                    Map.of(RetryAfterWatch.NAME, retryAfter, WatchesGoDirect.NAME, new WatchesGoDirect(aws.front.port(), aws.server.port()))));
            members.add(member);
            join(member.start());
            join(member.createWorker(nextWorker(member)));

            java.nio.file.Files.writeString(tokenFile, "second-token");
            acceptOnly(aws, "second-token");

            await().atMost(PATIENCE).untilAsserted(() -> {
                try {
                    member.createWorker(nextWorker(member)).toCompletableFuture().get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    throw new AssertionError("create failed: " + e.getCause().getMessage(), e.getCause());
                }
            });
            await().atMost(PATIENCE).until(() -> member.state() == MemberState.HEALTHY);
            assertThat(aws.requests(postRequestedFor(urlPathEqualTo(PODS)).withHeader("Authorization", equalTo("Bearer second-token"))))
                    .isPositive();
        }

        /** The front answers 401 to every request without {@code token}. */
        void acceptOnly(Fronted aws, String token) {
            aws.front.getStubMappings().stream().filter(s -> s.getPriority() != null && s.getPriority() == 2).toList()
                    .forEach(aws.front::removeStubMapping);
            aws.front.stubFor(any(anyUrl()).atPriority(2)
                    .withHeader("Authorization", com.github.tomakehurst.wiremock.client.WireMock.notMatching("Bearer " + token))
                    .willReturn(unauthorized()));
        }
    }

    @Nested
    @DisplayName("Calls failing while the watches look alive")
    class FailingCalls {

        @Test
        @DisplayName("failing creates make the member degraded, never healthy while its breaker is open; healthy once it answers")
        void failingCreatesDegradeTheMemberUntilItAnswers() throws Exception {
            Fronted aws = new Fronted("aws-use1");
            MemberCluster member = aws.member("aws", options(resilience(BREAKER, 1), Duration.ofSeconds(5)));
            List<MemberState> states = new CopyOnWriteArrayList<>();
            member.onStateChange(states::add);
            aws.onCreate(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER));

            for (int i = 0; i < 3; i++) {
                failureOf(member.createWorker(nextWorker(member)));
            }

            await().atMost(PATIENCE).until(() -> member.state() == MemberState.DEGRADED);
            assertThat(member.breaker().state()).isEqualTo(BreakerStatus.State.OPEN);
            assertThat(member.stateReason()).startsWith("circuit breaker ").contains(" is open (");
            assertThat(member.acceptsPlacements()).isFalse();

            aws.healed();

            await().atMost(PATIENCE).until(() -> member.state() == MemberState.HEALTHY);
            assertThat(member.breaker().state()).isNotEqualTo(BreakerStatus.State.OPEN);
            assertThat(member.stateReason()).isNull();
            assertThat(states).containsSubsequence(MemberState.DEGRADED, MemberState.HEALTHY);
            assertThat(join(member.createWorker(nextWorker(member))).member()).isEqualTo("aws-use1");
        }

        @Test
        @DisplayName("three creates in a row without an answer make the member degraded before its breaker opens")
        void failedCallsInARowDegradeTheMember() throws Exception {
            Fronted aws = new Fronted("aws-use1");
            BreakerSettings lenient = new BreakerSettings(20, 20, 50, 80, Duration.ofSeconds(5), Duration.ofSeconds(2), 2);
            MemberCluster member = aws.member("aws", options(resilience(lenient, 1), Duration.ofSeconds(5)));
            aws.onCreate(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER));

            for (int i = 0; i < 3; i++) {
                failureOf(member.createWorker(nextWorker(member)));
            }

            await().atMost(PATIENCE).until(() -> member.state() == MemberState.DEGRADED);
            assertThat(member.breaker().state()).isEqualTo(BreakerStatus.State.CLOSED);
            assertThat(member.stateReason()).startsWith("the last 3 calls to the API server http://127.0.0.1:" + aws.front.port()
                    + "/ failed, last: ");

            aws.healed();

            await().atMost(PATIENCE).until(() -> member.state() == MemberState.HEALTHY);
        }

        @Test
        @DisplayName("a lost watch is tried again at least every 4 seconds, so a member that comes back is seen soon")
        void watchReconnectsAreCappedAtFourSeconds() {
            MockMember server = MockMember.start("aws-use1", dir);
            servers.add(server);
            var config = MemberClients.config(spec("aws-use1", "aws", server.kubeconfig), options(resilience(BREAKER, 1), Duration.ofSeconds(5)));

            // fabric8 doubles the interval after each failed reconnect, five times at most
            assertThat(config.getWatchReconnectInterval() * 32L).isLessThanOrEqualTo(4_000L);
            assertThat(config.getWatchReconnectLimit()).as("never gives up").isEqualTo(-1);
        }
    }

    @Nested
    @DisplayName("Start-up access checks")
    class StartUp {

        @Test
        @DisplayName("go through the breaker: failing checks open it, and the member syncs once the API server recovers")
        void failingAccessChecksOpenTheBreakerAndTheMemberSyncsAfterRecovery() throws Exception {
            Fronted aws = new Fronted("aws-use1");
            aws.front.stubFor(get(urlPathEqualTo(PODS)).withQueryParam("limit", equalTo("1")).atPriority(1).willReturn(unavailable()));
            MemberCluster member = aws.connect("aws", options(resilience(BREAKER, 1), Duration.ofSeconds(5)));

            member.start();

            await().atMost(PATIENCE).until(() -> member.breaker().state() == BreakerStatus.State.OPEN);
            assertThat(member.state()).isEqualTo(MemberState.UNREACHABLE);
            await().atMost(PATIENCE).untilAsserted(() -> assertThat(member.stateReason())
                    .startsWith("cannot sync with the API server http://127.0.0.1:" + aws.front.port() + "/: not sent: circuit breaker cloud:aws is open since ")
                    .contains("(3 of 3 calls failed, last: aws-use1: HTTP 503: the server is currently unable to handle the request); trial calls from "));
            int checksWhileOpen = aws.requests(getRequestedFor(urlPathEqualTo(PODS))
                    .withQueryParam("limit", equalTo("1")));
            assertThat(checksWhileOpen).isEqualTo(3);

            aws.healed();

            await().atMost(PATIENCE).until(() -> member.state() == MemberState.HEALTHY);
            assertThat(member.breaker().state()).isNotEqualTo(BreakerStatus.State.OPEN);
        }
    }
}
