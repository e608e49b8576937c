package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.capacity.CapacityView;
import dev.rayfederation.k8s.capacity.PodRequests;
import dev.rayfederation.k8s.render.ProbePodSpec;
import dev.rayfederation.k8s.render.WorkerPodContract;
import dev.rayfederation.k8s.render.WorkerPodSpec;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.resources.WorkerShape;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static dev.rayfederation.k8s.testing.KubeObjects.node;
import static dev.rayfederation.k8s.testing.KubeObjects.pod;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class Fabric8MemberClusterTest {

    static final String NS = "ray-workers";
    static final Duration PATIENCE = Duration.ofSeconds(30);
    static final WorkerShape CPU4 = WorkerShape.of(ResourceVector.ofQuantities(Map.of("CPU", "4", "memory", "16Gi")));

    @TempDir
    Path dir;

    final List<AutoCloseable> cleanup = new ArrayList<>();

    /**
     * API servers go first: the mock server can deadlock (until a long timeout) when a client closes a watch
     * while the server is sending it an event; a server that closes its own connections does not.
     */
    @AfterEach
    void closeEverything() throws Exception {
        for (AutoCloseable c : cleanup) {
            if (c instanceof MockMember) {
                c.close();
            }
        }
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            if (!(cleanup.get(i) instanceof MockMember)) {
                cleanup.get(i).close();
            }
        }
    }

    <T extends AutoCloseable> T closeLater(T closeable) {
        cleanup.add(closeable);
        return closeable;
    }

    static MemberClusterOptions options() {
        return MemberClusterOptions.defaults("demo")
                .withStartTimeout(Duration.ofSeconds(10))
                .withRetryInterval(Duration.ofMillis(500))
                .withRequestRetries(0)
                .withUnreachableAfter(Duration.ofSeconds(1));
    }

    static MemberClusterSpec spec(String name, Path kubeconfig, String context) {
        return new MemberClusterSpec(name, "aws", "us-east-1", "us-east-1a", kubeconfig, context, NS, false, false, ResourceVector.EMPTY);
    }

    MemberCluster connect(MockMember m) {
        return connect(spec(m.name, m.kubeconfig, m.name), options());
    }

    MemberCluster connect(MemberClusterSpec spec, MemberClusterOptions options) {
        return closeLater(MemberClusters.connect(spec, options));
    }

    static WorkerPodSpec worker(String nodeId, String member) {
        return new WorkerPodSpec(nodeId, "demo-cpu-small-" + nodeId, "demo", "10.0.0.12:6379", "cpu-small", "vc-batch", "cpu-small",
                member, "us-east-1", null, ResourceVector.ofQuantities(Map.of("CPU", "4", "memory", "16Gi")), Map.of(), Map.of(),
                Map.of("spec", Map.of("containers", List.of(Map.of("name", "ray-worker", "image", "rayproject/ray:2.60.0")))),
                Map.of(), Map.of("ray-node-type", "worker"), "req-1", "hash-1", 1, null);
    }

    static <T> T join(CompletionStage<T> stage) throws Exception {
        return stage.toCompletableFuture().get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
    }

    static Throwable failureOf(CompletionStage<?> stage) throws Exception {
        try {
            stage.toCompletableFuture().get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        }
        throw new AssertionError("expected the stage to fail");
    }

    @Nested
    class WithTwoHealthyMembers {

        MockMember aws;
        MockMember gcp;
        MemberCluster awsMember;
        MemberCluster gcpMember;
        final List<MemberState> awsStates = new CopyOnWriteArrayList<>();

        @BeforeEach
        void startMembers() throws Exception {
            aws = closeLater(MockMember.start("aws-use1", dir)).withNamespace(NS).withNamespace("other-team").withNodes(
                    node("aws-1").cpu("16").memory("64Gi").pods("110").build(),
                    node("aws-2").cpu("16").memory("64Gi").pods("110").build());
            gcp = closeLater(MockMember.start("gcp-usc1", dir)).withNamespace(NS).withNodes(
                    node("gcp-gpu-1").cpu("48").memory("192Gi").gpus("4").pods("110")
                            .label("cloud.google.com/gke-accelerator", "nvidia-l4")
                            .taint("nvidia.com/gpu", "present", "NoSchedule").build());
            aws.admin().pods().inNamespace("other-team").resource(pod("other-team", "web", "aws-1", Map.of("cpu", "10"))).create();

            awsMember = connect(aws);
            gcpMember = connect(gcp);
            awsMember.onStateChange(awsStates::add);
            join(awsMember.start());
            join(gcpMember.start());
        }

        @Test
        void startSyncsAndBothMembersAreHealthy() {
            assertThat(awsMember.state()).isEqualTo(MemberState.HEALTHY);
            assertThat(awsMember.stateReason()).isNull();
            assertThat(gcpMember.state()).isEqualTo(MemberState.HEALTHY);
            assertThat(awsStates).as("a member starts out syncing").containsExactly(MemberState.HEALTHY);
        }

        @Test
        void capacityReflectsEachMembersNodesAndThePodsOfOtherNamespaces() {
            await().atMost(PATIENCE).untilAsserted(() -> {
                CapacityView c = awsMember.capacity();
                assertThat(c.known()).isTrue();
                assertThat(c.nodeCount()).isEqualTo(2);
                // aws-1 has 6 CPUs left after the other team's pod: one worker; aws-2: four
                assertThat(c.nodeFit(CPU4, Map.of(), 100)).isEqualTo(5);
                assertThat(c.allocated().get("CPU")).isEqualTo(10_000);
            });
            CapacityView gcpCapacity = gcpMember.capacity();
            assertThat(gcpCapacity.nodeCount()).isEqualTo(1);
            assertThat(gcpCapacity.capacity().get("GPU")).isEqualTo(4_000);
            assertThat(gcpCapacity.nodeFit(CPU4, Map.of(), 100)).as("the GPU node is tainted").isZero();
        }

        @Test
        void capacityFollowsPodsComingAndGoing() {
            await().atMost(PATIENCE).until(() -> awsMember.capacity().nodeFit(CPU4, Map.of(), 100) == 5);

            aws.admin().pods().inNamespace("other-team").resource(pod("other-team", "batch", "aws-2", Map.of("cpu", "8"))).create();
            await().atMost(PATIENCE).until(() -> awsMember.capacity().nodeFit(CPU4, Map.of(), 100) == 3);

            aws.admin().pods().inNamespace("other-team").withName("web").delete();
            await().atMost(PATIENCE).until(() -> awsMember.capacity().nodeFit(CPU4, Map.of(), 100) == 6);
        }

        @Test
        void aPodOfAnotherRayClusterInOurNamespaceTakesRoomOurWorkersAreCountedOnce() throws Exception {
            await().atMost(PATIENCE).until(() -> awsMember.capacity().nodeFit(CPU4, Map.of(), 100) == 5);

            // labelled as a worker of another sidecar's Ray cluster: our workers' watch does not see it, the watch of
            // all pods must
            Pod foreign = new PodBuilder(pod(NS, "other-cluster-worker", "aws-2", Map.of("cpu", "8")))
                    .editMetadata().addToLabels(WorkerPodContract.LABEL_MANAGED_BY, WorkerPodContract.MANAGED_BY_VALUE)
                    .addToLabels(WorkerPodContract.LABEL_RAY_CLUSTER, "another-cluster").endMetadata().build();
            aws.admin().pods().inNamespace(NS).resource(foreign).create();
            await().atMost(PATIENCE).until(() -> awsMember.capacity().nodeFit(CPU4, Map.of(), 100) == 3);

            join(awsMember.createWorker(worker("n-8", "aws-use1")));
            await().atMost(PATIENCE).until(() -> awsMember.workerPods().size() == 1);
            Pod stored = aws.admin().pods().inNamespace(NS).withName("demo-cpu-small-n-8").get();
            aws.admin().pods().inNamespace(NS).resource(new PodBuilder(stored).editSpec().withNodeName("aws-1").endSpec()
                    .withNewStatus().withPhase("Running").endStatus().build()).update();
            await().atMost(PATIENCE).until(() -> awsMember.capacityCounts("demo-cpu-small-n-8", false));
            CapacityView c = awsMember.capacity();
            assertThat(c.allocated().get("CPU")).as("the other team's 10, the other cluster's 8 and our worker's, once")
                    .isEqualTo(18_000 + PodRequests.of(stored, "nvidia.com/gpu").get("CPU"));
        }

        @Test
        void createWorkerMakesAPodWithTheContractLabelsThatWorkerPodsShows() throws Exception {
            List<WorkerPod> upserts = new CopyOnWriteArrayList<>();
            awsMember.addWorkerPodListener(listener(upserts, new CopyOnWriteArrayList<>()));

            WorkerPod created = join(awsMember.createWorker(worker("n-1", "aws-use1")));

            assertThat(created.nodeId()).isEqualTo("n-1");
            assertThat(created.member()).isEqualTo("aws-use1");
            await().atMost(PATIENCE).untilAsserted(() -> assertThat(awsMember.workerPods())
                    .singleElement().satisfies(w -> {
                        assertThat(w.podName()).isEqualTo("demo-cpu-small-n-1");
                        assertThat(w.pool()).isEqualTo("cpu-small");
                        assertThat(w.virtualCluster()).isEqualTo("vc-batch");
                        assertThat(w.tags()).containsEntry("ray-node-type", "worker");
                        assertThat(w.requests().get("CPU")).isEqualTo(4_000);
                    }));
            assertThat(upserts).extracting(WorkerPod::nodeId).contains("n-1");
            Pod stored = aws.admin().pods().inNamespace(NS).withName("demo-cpu-small-n-1").get();
            assertThat(stored.getMetadata().getLabels())
                    .containsEntry("app.kubernetes.io/managed-by", "ray-federation")
                    .containsEntry("ray-federation.io/ray-cluster", "demo")
                    .containsEntry("ray-federation.io/node-id", "n-1");
            assertThat(gcp.admin().pods().inNamespace(NS).list().getItems()).as("the other member is untouched").isEmpty();
            assertThat(gcpMember.workerPods()).isEmpty();
        }

        @Test
        void repeatingACreateReturnsTheExistingPodAndCreatesNoSecond() throws Exception {
            WorkerPod first = join(awsMember.createWorker(worker("n-2", "aws-use1")));
            WorkerPod again = join(awsMember.createWorker(worker("n-2", "aws-use1")));

            assertThat(again.uid()).isEqualTo(first.uid());
            assertThat(aws.admin().pods().inNamespace(NS).list().getItems()).hasSize(1);
        }

        @Test
        void aPodNameTakenByAnotherNodeIdIsAConflict() throws Exception {
            join(awsMember.createWorker(worker("n-3", "aws-use1")));
            WorkerPodSpec clash = worker("n-3", "aws-use1");
            WorkerPodSpec other = new WorkerPodSpec("n-4", clash.podName(), "demo", clash.headAddress(), clash.pool(), clash.virtualCluster(),
                    clash.rayNodeType(), clash.member(), null, null, clash.resources(), Map.of(), Map.of(), Map.of(), Map.of(), Map.of(),
                    null, null, 1, null);

            Throwable failure = failureOf(awsMember.createWorker(other));

            assertThat(failure).isInstanceOf(MemberApiException.class).hasMessageContaining("already exists with node id n-3");
            assertThat(((MemberApiException) failure).conflict()).isTrue();
        }

        @Test
        void deleteWorkerRemovesThePodAndSaysFalseWhenItWasAlreadyGone() throws Exception {
            List<WorkerPod> deletes = new CopyOnWriteArrayList<>();
            awsMember.addWorkerPodListener(listener(new CopyOnWriteArrayList<>(), deletes));
            join(awsMember.createWorker(worker("n-5", "aws-use1")));
            await().atMost(PATIENCE).until(() -> awsMember.workerPods().size() == 1);

            assertThat(join(awsMember.deleteWorker("demo-cpu-small-n-5"))).isTrue();
            await().atMost(PATIENCE).until(() -> awsMember.workerPods().isEmpty());
            assertThat(deletes).extracting(WorkerPod::nodeId).containsExactly("n-5");
            assertThat(join(awsMember.deleteWorker("demo-cpu-small-n-5"))).isFalse();
        }

        @Test
        void updatedTagsAreStoredOnThePodAndShowInWorkerPods() throws Exception {
            join(awsMember.createWorker(worker("n-11", "aws-use1")));

            boolean updated = join(awsMember.updateWorkerTags("demo-cpu-small-n-11",
                    Map.of("ray-node-type", "worker", "ray-node-status", "up-to-date")));

            assertThat(updated).isTrue();
            await().atMost(PATIENCE).untilAsserted(() -> assertThat(awsMember.workerPods()).singleElement()
                    .satisfies(w -> assertThat(w.tags()).isEqualTo(Map.of("ray-node-type", "worker", "ray-node-status", "up-to-date"))));
            assertThat(aws.admin().pods().inNamespace(NS).withName("demo-cpu-small-n-11").get().getMetadata().getLabels())
                    .containsEntry("ray-federation.io/node-id", "n-11");
            assertThat(join(awsMember.updateWorkerTags("demo-cpu-small-gone", Map.of()))).isFalse();
        }

        @Test
        void probePodsAreCreatedReadAndDeletedAndNeverSeenAsWorkers() throws Exception {
            ProbePodSpec spec = new ProbePodSpec("demo-preflight-p1", "demo", "aws-use1", "10.0.0.12:6379", 10002,
                    java.time.Duration.ofSeconds(60), null, Map.of(), Map.of());
            ProbePod created = join(awsMember.createProbe(spec));
            assertThat(created.name()).isEqualTo("demo-preflight-p1");
            assertThat(join(awsMember.createProbe(spec)).name()).as("a repeated create finds the pod").isEqualTo("demo-preflight-p1");
            assertThat(awsMember.runsProbes()).isTrue();

            // the probe ran and ended: its exit code and termination message are what the sidecar reads
            Pod stored = aws.admin().pods().inNamespace(NS).withName("demo-preflight-p1").get();
            aws.admin().pods().inNamespace(NS).resource(new PodBuilder(stored).withNewStatus().withPhase("Failed")
                    .withPodIP("10.1.0.9").addNewContainerStatus().withName("preflight").withNewState().withNewTerminated()
                    .withExitCode(1).withMessage("worker -> head: cannot connect to 10.0.0.12:6379: timed out\n")
                    .endTerminated().endState().endContainerStatus().endStatus().build()).updateStatus();
            ProbePod ended = join(awsMember.probe("demo-preflight-p1")).orElseThrow();
            assertThat(ended.ended()).isTrue();
            assertThat(ended.exitCode()).isEqualTo(1);
            assertThat(ended.message()).isEqualTo("worker -> head: cannot connect to 10.0.0.12:6379: timed out");
            assertThat(ended.podIp()).isEqualTo("10.1.0.9");

            join(awsMember.createWorker(worker("n-9", "aws-use1")));
            await().atMost(PATIENCE).until(() -> awsMember.workerPods().size() == 1);
            assertThat(awsMember.workerPods()).extracting(WorkerPod::podName).containsExactly("demo-cpu-small-n-9");

            assertThat(join(awsMember.deleteProbe("demo-preflight-p1"))).isTrue();
            assertThat(join(awsMember.probe("demo-preflight-p1"))).isEmpty();
            assertThat(join(awsMember.deleteProbe("demo-preflight-p1"))).isFalse();

            // probe pods an earlier sidecar left behind are all deleted; workers are not touched
            join(awsMember.createProbe(new ProbePodSpec("demo-preflight-p2", "demo", "aws-use1", "10.0.0.12:6379", 10002,
                    java.time.Duration.ofSeconds(60), null, Map.of(), Map.of())));
            join(awsMember.createProbe(new ProbePodSpec("demo-preflight-p3", "demo", "aws-use1", "10.0.0.12:6379", 10002,
                    java.time.Duration.ofSeconds(60), null, Map.of(), Map.of())));
            assertThat(join(awsMember.deleteProbes())).isEqualTo(2);
            assertThat(aws.admin().pods().inNamespace(NS).list().getItems()).extracting(p -> p.getMetadata().getName())
                    .containsExactly("demo-cpu-small-n-9");
        }

        @Test
        void aPodMadeRunningAndReadyByAnotherClientShowsUpReadyWithItsIp() throws Exception {
            join(awsMember.createWorker(worker("n-6", "aws-use1")));
            Pod stored = aws.admin().pods().inNamespace(NS).withName("demo-cpu-small-n-6").get();

            Pod running = new PodBuilder(stored)
                    .editSpec().withNodeName("aws-2").endSpec()
                    .withNewStatus().withPhase("Running").withPodIP("10.1.0.7").withHostIP("10.0.0.2")
                    .addToConditions(new PodConditionBuilder().withType("Ready").withStatus("True").build())
                    .endStatus().build();
            aws.admin().pods().inNamespace(NS).resource(running).update();

            await().atMost(PATIENCE).untilAsserted(() -> assertThat(awsMember.workerPods()).singleElement().satisfies(w -> {
                assertThat(w.ready()).isTrue();
                assertThat(w.phase()).isEqualTo("Running");
                assertThat(w.podIp()).isEqualTo("10.1.0.7");
                assertThat(w.kubeNode()).isEqualTo("aws-2");
            }));
            await().atMost(PATIENCE).untilAsserted(() ->
                    assertThat(awsMember.capacity().nodeFit(CPU4, Map.of(), 100)).as("our worker takes room on aws-2 too").isEqualTo(4));
        }

        @Test
        void capacityCountsAPodOfOursOnlyOnceItsWatchHasSeenItBound() throws Exception {
            join(awsMember.createWorker(worker("n-8", "aws-use1")));
            await().atMost(PATIENCE).until(() -> awsMember.workerPods().size() == 1);
            assertThat(awsMember.capacityCounts("demo-cpu-small-n-8", false)).as("not bound yet").isFalse();

            Pod stored = aws.admin().pods().inNamespace(NS).withName("demo-cpu-small-n-8").get();
            aws.admin().pods().inNamespace(NS).resource(new PodBuilder(stored).editSpec().withNodeName("aws-1").endSpec()
                    .withNewStatus().withPhase("Running").endStatus().build()).update();

            // the count of our own pods comes from the watch of our workers (the watch of all pods leaves them out)
            await().atMost(PATIENCE).until(() -> awsMember.capacityCounts("demo-cpu-small-n-8", false));
            assertThat(awsMember.capacity().nodeFit(CPU4, Map.of(), 100)).isEqualTo(4);
            assertThat(awsMember.capacityCounts("demo-cpu-small-gone", true)).isFalse();
        }

        @Test
        void aWorkerOfAnotherRayClusterIsRefused() {
            WorkerPodSpec w = worker("n-7", "aws-use1");
            WorkerPodSpec foreign = new WorkerPodSpec(w.nodeId(), w.podName(), "another-cluster", w.headAddress(), w.pool(),
                    w.virtualCluster(), w.rayNodeType(), w.member(), null, null, w.resources(), Map.of(), Map.of(), Map.of(), Map.of(),
                    Map.of(), null, null, 1, null);

            assertThatThrownBy(() -> join(awsMember.createWorker(foreign)))
                    .hasRootCauseInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("WorkerPodSpec.rayClusterName: 'another-cluster' differs from this member's rayClusterName 'demo'");
        }

        @Test
        void losingTheApiServerMakesTheMemberUnreachableKeepingItsPodsUntilItIsBack() throws Exception {
            join(awsMember.createWorker(worker("n-8", "aws-use1")));
            await().atMost(PATIENCE).until(() -> awsMember.workerPods().size() == 1);

            aws.stop();

            await().atMost(PATIENCE).until(() -> awsMember.state() == MemberState.UNREACHABLE);
            // the liveness probe usually notices first; the watches' own health check says it in its words
            assertThat(awsMember.stateReason()).containsAnyOf("no answer from the API server http://127.0.0.1:" + aws.port(),
                    "lost the API server http://127.0.0.1:" + aws.port()).contains("cannot connect").contains("showing the last known pods");
            assertThat(awsMember.workerPods()).extracting(WorkerPod::nodeId).containsExactly("n-8");
            assertThat(gcpMember.state()).as("the other member does not care").isEqualTo(MemberState.HEALTHY);

            aws.restart();

            await().atMost(Duration.ofSeconds(60)).until(() -> awsMember.state() == MemberState.HEALTHY);
            assertThat(awsMember.workerPods()).extracting(WorkerPod::nodeId).containsExactly("n-8");
            assertThat(awsStates).containsSubsequence(MemberState.HEALTHY, MemberState.UNREACHABLE, MemberState.HEALTHY);
        }

        @Test
        void closingStopsItsThreadsAndRefusesFurtherCalls() throws Exception {
            join(awsMember.createWorker(worker("n-9", "aws-use1")));

            awsMember.close();

            Throwable failure = failureOf(awsMember.createWorker(worker("n-10", "aws-use1")));
            assertThat(failure).isInstanceOf(MemberApiException.class).hasMessageContaining("member closed");
            await().atMost(PATIENCE).until(() -> Thread.getAllStackTraces().keySet().stream()
                    .noneMatch(t -> t.isAlive() && t.getName().startsWith("member-aws-use1-")));
            assertThat(gcpMember.state()).isEqualTo(MemberState.HEALTHY);
        }
    }

    @Nested
    class WhenUnreachable {

        @Test
        void aMemberAtAClosedPortFailsToStartWithAReasonAndIsUnreachable() throws Exception {
            int port = MockMember.closedPort();
            Path kubeconfig = MockMember.writeKubeconfig(dir.resolve("down.kubeconfig"), "down", port);
            MemberCluster member = connect(spec("down", kubeconfig, "down"), options().withStartTimeout(Duration.ofSeconds(2)));

            Throwable failure = failureOf(member.start());

            assertThat(failure).isInstanceOf(MemberApiException.class).hasMessageContaining("member down: start failed");
            assertThat(member.state()).isEqualTo(MemberState.UNREACHABLE);
            assertThat(member.stateReason())
                    .isEqualTo("cannot sync with the API server http://127.0.0.1:" + port + "/: cannot connect (connection refused or no route)")
                    .doesNotContain(MockMember.TOKEN);
            assertThat(member.capacity().known()).isFalse();
        }

        @Test
        void aSilentApiServerFailsTheStartAtTheStartTimeoutNotTheRequestTimeout() throws Exception {
            try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
                Thread acceptor = new Thread(() -> acceptAndSayNothing(silent), "silent-api-server");
                acceptor.setDaemon(true);
                acceptor.start();
                Path kubeconfig = MockMember.writeKubeconfig(dir.resolve("silent.kubeconfig"), "silent", silent.getLocalPort());
                MemberCluster member = connect(spec("silent", kubeconfig, "silent"),
                        options().withStartTimeout(Duration.ofSeconds(1)).withRequestTimeout(Duration.ofSeconds(120))
                                .withRetryInterval(Duration.ofSeconds(60)));

                Throwable failure = failureOf(member.start());

                assertThat(failure).isInstanceOf(MemberApiException.class);
                assertThat(member.state()).isEqualTo(MemberState.UNREACHABLE);
                assertThat(member.stateReason()).isEqualTo("could not sync with the API server http://127.0.0.1:" + silent.getLocalPort() + "/ within 1s");
            }
        }

        @Test
        void keepsRetryingInTheBackgroundAndTurnsHealthyWhenTheServerAppears() throws Exception {
            int port = MockMember.closedPort();
            Path kubeconfig = MockMember.writeKubeconfig(dir.resolve("late.kubeconfig"), "late", port);
            MemberCluster member = connect(spec("late", kubeconfig, "late"), options());
            failureOf(member.start());
            assertThat(member.state()).isEqualTo(MemberState.UNREACHABLE);

            MockMember late = closeLater(MockMember.startOn(port, "late", dir)).withNamespace(NS)
                    .withNodes(node("late-1").cpu("8").memory("32Gi").build());

            await().atMost(PATIENCE).until(() -> member.state() == MemberState.HEALTHY);
            assertThat(member.capacity().nodeCount()).isEqualTo(1);
            assertThat(late.port()).isEqualTo(port);
        }

        @Test
        void aMissingKubeconfigOrContextIsNamedInTheReason() throws Exception {
            MemberCluster missing = connect(spec("nofile", dir.resolve("absent.kubeconfig"), null), options());
            failureOf(missing.start());
            assertThat(missing.stateReason()).startsWith("cannot read kubeconfig " + dir.resolve("absent.kubeconfig"));

            Path kubeconfig = MockMember.writeKubeconfig(dir.resolve("ctx.kubeconfig"), "right", MockMember.closedPort());
            MemberCluster wrongContext = connect(spec("ctx", kubeconfig, "wrong"), options());
            failureOf(wrongContext.start());
            assertThat(wrongContext.stateReason())
                    .isEqualTo("kubeconfig " + kubeconfig + " has no context 'wrong' (available: right, decoy)")
                    .doesNotContain(MockMember.TOKEN);
        }

        /** Accepts connections and never answers (requests are small enough to sit in the socket buffers). */
        private void acceptAndSayNothing(ServerSocket server) {
            List<Socket> open = new ArrayList<>();
            try {
                while (true) {
                    open.add(server.accept());
                }
            } catch (IOException closed) {
                for (Socket s : open) {
                    try {
                        s.close();
                    } catch (IOException ignored) {
                        // closing anyway
                    }
                }
            }
        }
    }

    @Nested
    class WithoutRbacForNodesOrClusterWidePods {

        @Test
        void withoutNodesTheMemberIsDegradedAndCapacityIsUnknown() throws Exception {
            MockMember m = closeLater(MockMember.start("locked", dir, "/api/v1/nodes", "/api/v1/pods")).withNamespace(NS);
            MemberCluster member = connect(m);

            join(member.start());

            assertThat(member.state()).isEqualTo(MemberState.DEGRADED);
            assertThat(member.stateReason()).startsWith("cannot list Nodes (HTTP 403: nodes is forbidden").endsWith("capacity unknown");
            assertThat(member.capacity().known()).isFalse();
            assertThat(member.capacity().nodeFit(CPU4, Map.of(), 7)).isEqualTo(7);
            join(member.createWorker(worker("n-1", "locked")));
            await().atMost(PATIENCE).until(() -> member.workerPods().size() == 1);
        }

        @Test
        void withoutNodesStaticCapacityTakesOver() throws Exception {
            MockMember m = closeLater(MockMember.start("capped", dir, "/api/v1/nodes")).withNamespace(NS);
            MemberCluster member = connect(new MemberClusterSpec("capped", "aws", null, null, m.kubeconfig, "capped", NS, false, false,
                    ResourceVector.ofQuantities(Map.of("CPU", "12", "memory", "64Gi"))), options());

            join(member.start());

            assertThat(member.state()).isEqualTo(MemberState.DEGRADED);
            assertThat(member.stateReason()).endsWith("capacity from staticCapacity only");
            assertThat(member.capacity().known()).isTrue();
            assertThat(member.capacity().couldEverFit(CPU4)).isTrue();
            assertThat(member.capacity().capFit(CPU4, ResourceVector.EMPTY)).isEqualTo(3);
        }

        @Test
        void withoutClusterWidePodsCapacityCountsThePodsOfTheMembersNamespace() throws Exception {
            MockMember m = closeLater(MockMember.start("nspods", dir, "/api/v1/pods")).withNamespace(NS).withNamespace("other-team")
                    .withNodes(node("n-1").cpu("16").memory("64Gi").build());
            m.admin().pods().inNamespace(NS).resource(pod(NS, "neighbour", "n-1", Map.of("cpu", "8"))).create();
            m.admin().pods().inNamespace("other-team").resource(pod("other-team", "unseen", "n-1", Map.of("cpu", "8"))).create();
            MemberCluster member = connect(m);

            join(member.start());

            assertThat(member.state()).isEqualTo(MemberState.DEGRADED);
            assertThat(member.stateReason()).contains("cannot list pods in all namespaces").endsWith("capacity counts only pods in namespace ray-workers");
            await().atMost(PATIENCE).until(() -> member.capacity().nodeFit(CPU4, Map.of(), 100) == 2);
        }
    }

    @Nested
    class InStaticMode {

        @Test
        void nodesAreNotWatchedAndTheStaticCapacityIsTheCapacity() throws Exception {
            MockMember m = closeLater(MockMember.start("static", dir, "/api/v1/nodes", "/api/v1/pods")).withNamespace(NS);
            MemberCluster member = connect(new MemberClusterSpec("static", "onprem", null, null, m.kubeconfig, "static", NS, false, true,
                    ResourceVector.ofQuantities(Map.of("CPU", "8", "memory", "32Gi"))), options());

            join(member.start());
            join(member.createWorker(worker("n-1", "static")));

            assertThat(member.state()).as("no Node access is needed").isEqualTo(MemberState.HEALTHY);
            await().atMost(PATIENCE).untilAsserted(() -> {
                CapacityView c = member.capacity();
                assertThat(c.capacity().get("CPU")).isEqualTo(8_000);
                assertThat(c.allocated().get("CPU")).as("our workers' requests").isEqualTo(4_000);
            });
        }
    }

    static WorkerPodListener listener(List<WorkerPod> upserts, List<WorkerPod> deletes) {
        return new WorkerPodListener() {
            @Override
            public void onUpsert(WorkerPod pod) {
                upserts.add(pod);
            }

            @Override
            public void onDelete(WorkerPod pod) {
                deletes.add(pod);
            }
        };
    }
}
