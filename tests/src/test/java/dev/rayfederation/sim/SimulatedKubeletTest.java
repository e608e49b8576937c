package dev.rayfederation.sim;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class SimulatedKubeletTest {

    private static final Duration DEADLINE = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private SimulatedMembers members;

    @AfterEach
    void stopMembers() {
        if (members != null) {
            members.close();
        }
    }

    private SimulatedMember start(MemberSpec spec) {
        return start(spec, SimulatedKubelet.Options.defaults());
    }

    private SimulatedMember start(MemberSpec spec, SimulatedKubelet.Options options) {
        members = SimulatedMembers.start(List.of(spec), dir, options);
        return members.member(spec.name());
    }

    private static MemberSpec member(NodeSpec... nodes) {
        MemberSpec spec = MemberSpec.of("m1", "aws", "us-east-1", "us-east-1a");
        for (NodeSpec n : nodes) {
            spec = spec.withNode(n);
        }
        return spec;
    }

    private static PodBuilder pod(String name, String cpu, String memory, int gpus) {
        Map<String, Quantity> requests = new LinkedHashMap<>();
        requests.put("cpu", new Quantity(cpu));
        requests.put("memory", new Quantity(memory));
        Map<String, Quantity> limits = new LinkedHashMap<>();
        if (gpus > 0) {
            limits.put("nvidia.com/gpu", new Quantity(Integer.toString(gpus)));
        }
        return new PodBuilder().withNewMetadata().withName(name).withNamespace("ray-workers")
                .addToLabels("app.kubernetes.io/managed-by", "ray-federation").endMetadata()
                .withNewSpec().addNewContainer().withName("ray-worker").withImage("rayproject/ray:2.60.0")
                .withNewResources().withRequests(requests).withLimits(limits).endResources().endContainer().endSpec();
    }

    private static Pod create(SimulatedMember m, PodBuilder pod) {
        return m.client().pods().inNamespace("ray-workers").resource(pod.build()).create();
    }

    private static Pod get(SimulatedMember m, String name) {
        return m.client().pods().inNamespace("ray-workers").withName(name).get();
    }

    private static Pod awaitRunning(SimulatedMember m, String name) {
        await(name + " Running").atMost(DEADLINE).until(() -> {
            Pod p = get(m, name);
            return p != null && p.getStatus() != null && "Running".equals(p.getStatus().getPhase());
        });
        return get(m, name);
    }

    private static Optional<PodCondition> condition(Pod p, String type) {
        if (p == null || p.getStatus() == null) {
            return Optional.empty();
        }
        return p.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).findFirst();
    }

    private static String unschedulableMessage(SimulatedMember m, String name) {
        await(name + " Unschedulable").atMost(DEADLINE).until(() -> condition(get(m, name), "PodScheduled")
                .filter(c -> "False".equals(c.getStatus()) && "Unschedulable".equals(c.getReason())).isPresent());
        Pod p = get(m, name);
        assertThat(p.getSpec().getNodeName()).isNull();
        assertThat(p.getStatus().getPhase()).isEqualTo("Pending");
        return condition(p, "PodScheduled").orElseThrow().getMessage();
    }

    @Nested
    @DisplayName("A pod that fits")
    class Fits {

        @Test
        void isBoundMarkedRunningAndReadyWithAPodIp() {
            SimulatedMember m = start(member(NodeSpec.of("n0", 16, "64Gi")));

            create(m, pod("w1", "4", "16Gi", 0));

            Pod p = awaitRunning(m, "w1");
            assertThat(p.getSpec().getNodeName()).isEqualTo("n0");
            assertThat(p.getStatus().getPodIP()).matches("10\\.1\\.\\d+\\.\\d+");
            assertThat(p.getStatus().getHostIP()).startsWith("192.168.1.");
            assertThat(p.getStatus().getConditions())
                    .extracting(PodCondition::getType, PodCondition::getStatus)
                    .contains(org.assertj.core.groups.Tuple.tuple("PodScheduled", "True"),
                            org.assertj.core.groups.Tuple.tuple("Initialized", "True"),
                            org.assertj.core.groups.Tuple.tuple("ContainersReady", "True"),
                            org.assertj.core.groups.Tuple.tuple("Ready", "True"));
            assertThat(p.getStatus().getContainerStatuses()).singleElement().satisfies(cs -> {
                assertThat(cs.getReady()).isTrue();
                assertThat(cs.getState().getRunning()).isNotNull();
            });
        }

        @Test
        void getsAPodIpNoOtherPodHas() {
            SimulatedMember m = start(member(NodeSpec.of("n0", 16, "64Gi"), NodeSpec.of("n1", 16, "64Gi")));

            for (int i = 0; i < 6; i++) {
                create(m, pod("w" + i, "2", "1Gi", 0));
            }

            List<String> ips = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                ips.add(awaitRunning(m, "w" + i).getStatus().getPodIP());
            }
            assertThat(ips).doesNotHaveDuplicates();
        }

        @Test
        void isContainerCreatingOnItsNodeBeforeRunningWhenADelayIsSet() {
            SimulatedMember m = start(member(NodeSpec.of("n0", 16, "64Gi")),
                    SimulatedKubelet.Options.defaults().withRunningDelay(Duration.ofSeconds(1)));
            List<String> states = new CopyOnWriteArrayList<>();
            Watch watch = m.client().pods().inNamespace("ray-workers").withName("w1").watch(new Watcher<>() {
                @Override
                public void eventReceived(Action action, Pod p) {
                    String waiting = p.getStatus() == null || p.getStatus().getContainerStatuses().isEmpty()
                            || p.getStatus().getContainerStatuses().get(0).getState().getWaiting() == null
                            ? "" : " " + p.getStatus().getContainerStatuses().get(0).getState().getWaiting().getReason();
                    states.add(p.getSpec().getNodeName() + " " + (p.getStatus() == null ? null : p.getStatus().getPhase())
                            + waiting);
                }

                @Override
                public void onClose(WatcherException cause) {
                }
            });
            try {
                create(m, pod("w1", "1", "1Gi", 0));

                awaitRunning(m, "w1");
                await().atMost(DEADLINE).until(() -> states.contains("n0 Running"));
            } finally {
                watch.close();
            }

            assertThat(states).containsSubsequence("n0 Pending ContainerCreating", "n0 Running");
        }

        @Test
        void isReportedToThePodRuntimeWhenRunningAndWhenDeleted() {
            List<String> events = new CopyOnWriteArrayList<>();
            PodRuntime runtime = new PodRuntime() {
                @Override
                public void started(String member, Pod pod) {
                    events.add("started " + member + " " + pod.getMetadata().getName() + " " + pod.getStatus().getPodIP());
                }

                @Override
                public void stopped(String member, Pod pod) {
                    events.add("stopped " + member + " " + pod.getMetadata().getName());
                }
            };
            SimulatedMember m = start(member(NodeSpec.of("n0", 16, "64Gi")),
                    SimulatedKubelet.Options.defaults().withRuntime(runtime));

            create(m, pod("w1", "1", "1Gi", 0));
            String ip = awaitRunning(m, "w1").getStatus().getPodIP();
            await().atMost(DEADLINE).until(() -> events.contains("started m1 w1 " + ip));
            m.client().pods().inNamespace("ray-workers").withName("w1").delete();

            await().atMost(DEADLINE).untilAsserted(() ->
                    assertThat(events).containsExactly("started m1 w1 " + ip, "stopped m1 w1"));
        }

        @Test
        void aPodWithAReadinessProbeIsReadyOnlyWhenTheRuntimeSaysItsProcessIs() {
            List<PodRuntime.PodReadiness> attached = new CopyOnWriteArrayList<>();
            PodRuntime runtime = new PodRuntime() {
                @Override
                public boolean reportsReadiness() {
                    return true;
                }

                @Override
                public void attachReadiness(PodReadiness readiness) {
                    attached.add(readiness);
                }
            };
            SimulatedMember m = start(member(NodeSpec.of("n0", 16, "64Gi")),
                    SimulatedKubelet.Options.defaults().withRuntime(runtime));

            Pod probed = create(m, pod("probed", "1", "1Gi", 0).editSpec().editFirstContainer().withNewReadinessProbe()
                    .withNewHttpGet().withPath("/api/local_raylet_healthz").withNewPort(52365).endHttpGet()
                    .endReadinessProbe().endContainer().endSpec());
            create(m, pod("plain", "1", "1Gi", 0));

            awaitRunning(m, "probed");
            await("plain Ready").atMost(DEADLINE).until(() -> condition(get(m, "plain"), "Ready")
                    .filter(c -> "True".equals(c.getStatus())).isPresent());
            assertThat(condition(get(m, "probed"), "Ready")).as("probed, before its process is ready")
                    .hasValueSatisfying(c -> assertThat(c.getStatus()).isEqualTo("False"));
            assertThat(attached).hasSize(1);

            attached.get(0).ready("m1", probed);

            await("probed Ready").atMost(DEADLINE).until(() -> condition(get(m, "probed"), "Ready")
                    .filter(c -> "True".equals(c.getStatus())).isPresent());
        }

        @Test
        void reportsThePodIpTheRuntimeChooses() {
            PodRuntime runtime = new PodRuntime() {
                @Override
                public String podIp(String member, Pod pod, String proposed) {
                    return "ip-of-" + pod.getMetadata().getName();
                }
            };
            SimulatedMember m = start(member(NodeSpec.of("n0", 16, "64Gi")),
                    SimulatedKubelet.Options.defaults().withRuntime(runtime));

            create(m, pod("w1", "1", "1Gi", 0));

            assertThat(awaitRunning(m, "w1").getStatus().getPodIP()).isEqualTo("ip-of-w1");
        }

        @Test
        void marksAPodFailedWhenTheRuntimeReportsItsProcessExitedAndFreesItsRoom() {
            List<PodRuntime.PodExits> attached = new CopyOnWriteArrayList<>();
            List<String> stopped = new CopyOnWriteArrayList<>();
            PodRuntime runtime = new PodRuntime() {
                @Override
                public void attach(PodExits exits) {
                    attached.add(exits);
                }

                @Override
                public void stopped(String member, Pod pod) {
                    stopped.add(pod.getMetadata().getName());
                }
            };
            SimulatedMember m = start(member(NodeSpec.of("n0", 4, "16Gi")),
                    SimulatedKubelet.Options.defaults().withRuntime(runtime));
            Pod running = awaitRunning(m, create(m, pod("w1", "4", "1Gi", 0)).getMetadata().getName());

            assertThat(attached).hasSize(1);
            attached.get(0).exited("m1", running, 3, "ray start exited with code 3");

            await().atMost(DEADLINE).until(() -> "Failed".equals(get(m, "w1").getStatus().getPhase()));
            var terminated = get(m, "w1").getStatus().getContainerStatuses().get(0).getState().getTerminated();
            assertThat(terminated.getExitCode()).isEqualTo(3);
            assertThat(terminated.getMessage()).isEqualTo("ray start exited with code 3");
            await().atMost(DEADLINE).until(() -> stopped.contains("w1"));
            create(m, pod("w2", "4", "1Gi", 0));
            awaitRunning(m, "w2");
        }
    }

    @Nested
    @DisplayName("A pod that fits nowhere")
    class FitsNowhere {

        @Test
        void staysPendingAndUnschedulableWithTheSchedulersMessage() {
            SimulatedMember m = start(member(NodeSpec.of("n0", 16, "64Gi"), NodeSpec.of("n1", 16, "64Gi"),
                    NodeSpec.of("n2", 16, "64Gi"), NodeSpec.of("n3", 16, "64Gi")));

            create(m, pod("gpu", "1", "1Gi", 1));

            assertThat(unschedulableMessage(m, "gpu"))
                    .isEqualTo("0/4 nodes are available: 4 Insufficient nvidia.com/gpu.");
        }

        @Test
        void getsTheRoomADeletedPodFrees() {
            SimulatedMember m = start(member(NodeSpec.of("n0", 16, "64Gi")));
            create(m, pod("big", "12", "8Gi", 0));
            awaitRunning(m, "big");

            create(m, pod("waiting", "8", "8Gi", 0));
            assertThat(unschedulableMessage(m, "waiting")).isEqualTo("0/1 nodes are available: 1 Insufficient cpu.");
            m.client().pods().inNamespace("ray-workers").withName("big").delete();

            assertThat(awaitRunning(m, "waiting").getSpec().getNodeName()).isEqualTo("n0");
        }

        @Test
        void getsTheRoomOfAPodMarkedForDeletion() {
            SimulatedMember m = start(member(NodeSpec.of("n0", 16, "64Gi")));
            // a finalizer keeps the deleted pod in the store with a deletionTimestamp
            create(m, pod("finishing", "12", "8Gi", 0).editMetadata().addToFinalizers("example.com/hold").endMetadata());
            awaitRunning(m, "finishing");
            create(m, pod("waiting", "8", "8Gi", 0));
            unschedulableMessage(m, "waiting");

            m.client().pods().inNamespace("ray-workers").withName("finishing").delete();

            assertThat(get(m, "finishing").getMetadata().getDeletionTimestamp()).isNotNull();
            assertThat(awaitRunning(m, "waiting").getSpec().getNodeName()).isEqualTo("n0");
        }

        @Test
        void getsANodeAddedLater() {
            SimulatedMember m = start(member(NodeSpec.of("n0", 8, "32Gi")));
            create(m, pod("large", "12", "8Gi", 0));
            unschedulableMessage(m, "large");

            m.addNode(NodeSpec.of("n1", 16, "64Gi"));

            assertThat(awaitRunning(m, "large").getSpec().getNodeName()).isEqualTo("n1");
        }

        @Test
        void doesNotFitIntoTheSumOfTwoNodes() {
            SimulatedMember m = start(member(NodeSpec.of("n0", 8, "32Gi"), NodeSpec.of("n1", 8, "32Gi")));

            create(m, pod("twelve", "12", "8Gi", 0));
            create(m, pod("six-a", "6", "8Gi", 0));
            create(m, pod("six-b", "6", "8Gi", 0));

            assertThat(unschedulableMessage(m, "twelve")).isEqualTo("0/2 nodes are available: 2 Insufficient cpu.");
            assertThat(List.of(awaitRunning(m, "six-a").getSpec().getNodeName(),
                    awaitRunning(m, "six-b").getSpec().getNodeName())).containsExactlyInAnyOrder("n0", "n1");
        }

        @Test
        void doesNotLandOnCordonedOrNotReadyNodes() {
            SimulatedMember m = start(member(NodeSpec.of("n0", 16, "64Gi").withUnschedulable(true),
                    NodeSpec.of("n1", 16, "64Gi").withReady(false)));

            create(m, pod("w", "1", "1Gi", 0));

            assertThat(unschedulableMessage(m, "w")).isEqualTo("0/2 nodes are available: "
                    + "1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable.");
            m.cordon("n0", false);
            assertThat(awaitRunning(m, "w").getSpec().getNodeName()).isEqualTo("n0");
        }
    }

    @Nested
    @DisplayName("Node selectors and taints")
    class SelectorsAndTaints {

        private final NodeSpec gpuNode = NodeSpec.of("gpu-0", 48, "192Gi").withGpus(4)
                .withLabel(Topologies.GPU_LABEL, "nvidia-l4").withTaint(Topologies.GPU_TAINT, "present", "NoSchedule");

        @Test
        void aPodWithoutTheTolerationStaysOffTheTaintedNode() {
            SimulatedMember m = start(member(NodeSpec.of("cpu-0", 8, "32Gi"), gpuNode));

            create(m, pod("no-toleration", "4", "8Gi", 1));

            assertThat(unschedulableMessage(m, "no-toleration")).isEqualTo("0/2 nodes are available: "
                    + "1 Insufficient nvidia.com/gpu, 1 node(s) had untolerated taint {nvidia.com/gpu: present}.");
        }

        @Test
        void aPodWithTheTolerationAndSelectorLandsOnTheMatchingNode() {
            SimulatedMember m = start(member(NodeSpec.of("cpu-0", 64, "256Gi"), gpuNode));

            create(m, pod("l4", "8", "32Gi", 1).editSpec()
                    .addToNodeSelector(Topologies.GPU_LABEL, "nvidia-l4")
                    .addToTolerations(new TolerationBuilder().withKey(Topologies.GPU_TAINT).withOperator("Exists")
                            .withEffect("NoSchedule").build())
                    .endSpec());

            assertThat(awaitRunning(m, "l4").getSpec().getNodeName()).isEqualTo("gpu-0");
        }

        @Test
        void aSelectorThatMatchesNoNodeIsReported() {
            SimulatedMember m = start(member(NodeSpec.of("cpu-0", 8, "32Gi"), NodeSpec.of("cpu-1", 8, "32Gi")));

            create(m, pod("picky", "1", "1Gi", 0).editSpec().addToNodeSelector("disk", "ssd").endSpec());

            assertThat(unschedulableMessage(m, "picky"))
                    .isEqualTo("0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.");
        }

        @Test
        void gpuPodsFillTheGpusOfANodeAndNoMore() {
            SimulatedMember m = start(member(gpuNode));
            for (int i = 0; i < 5; i++) {
                create(m, pod("l4-" + i, "8", "32Gi", 1).editSpec()
                        .addToTolerations(new TolerationBuilder().withOperator("Exists").build()).endSpec());
            }

            for (int i = 0; i < 4; i++) {
                awaitRunning(m, "l4-" + i);
            }
            assertThat(unschedulableMessage(m, "l4-4")).isEqualTo("0/1 nodes are available: 1 Insufficient nvidia.com/gpu.");
        }
    }

    @Nested
    @DisplayName("A stalled member")
    class Stalled {

        @Test
        void leavesNewPodsPendingWithoutAConditionUntilResumed() {
            SimulatedMember m = start(member(NodeSpec.of("n0", 16, "64Gi")));
            members.kubelet().stall("m1", true);
            create(m, pod("before", "1", "1Gi", 0));
            await("the kubelet looked at the pod").atMost(DEADLINE)
                    .until(() -> members.kubelet().podsSeenByLastPass("m1").contains("ray-workers/before"));

            Pod p = get(m, "before");
            assertThat(p.getSpec().getNodeName()).isNull();
            assertThat(p.getStatus() == null ? List.of() : p.getStatus().getConditions()).isEmpty();

            members.kubelet().stall("m1", false);
            awaitRunning(m, "before");
        }
    }

    @Nested
    @DisplayName("A member")
    class Member {

        @Test
        void keepsItsObjectsAcrossAStopAndStartOnTheSamePort() {
            SimulatedMember m = start(member(NodeSpec.of("n0", 16, "64Gi")));
            create(m, pod("w1", "1", "1Gi", 0));
            awaitRunning(m, "w1");
            int port = m.port();

            m.stop();
            assertThat(m.isRunning()).isFalse();
            m.start();

            assertThat(m.port()).isEqualTo(port);
            assertThat(get(m, "w1").getStatus().getPhase()).isEqualTo("Running");
            create(m, pod("w2", "1", "1Gi", 0));
            assertThat(awaitRunning(m, "w2").getSpec().getNodeName()).isEqualTo("n0");
        }

        @Test
        void writesAKubeconfigAndMembersJsonThatReachIt() throws Exception {
            start(member(NodeSpec.of("n0", 16, "64Gi")));

            Path manifest = members.writeManifest();

            String json = Files.readString(manifest);
            assertThat(json).contains("\"name\" : \"m1\"", "\"cloud\" : \"aws\"", "\"context\" : \"m1\"");
            Path kubeconfig = members.member("m1").kubeconfig();
            Config config = Config.fromKubeconfig("m1", kubeconfig.toFile());
            try (KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build()) {
                assertThat(client.nodes().list().getItems()).extracting(n -> n.getMetadata().getName())
                        .containsExactly("n0");
                assertThat(client.getNamespace()).isEqualTo("ray-workers");
            }
        }
    }
}
