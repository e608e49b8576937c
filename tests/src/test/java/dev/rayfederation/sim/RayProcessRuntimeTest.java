package dev.rayfederation.sim;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The real-Ray pod runtime, with a fake {@code ray} that records how it was run (no Ray needed). */
class RayProcessRuntimeTest {

    private static final Duration DEADLINE = Duration.ofSeconds(30);
    /** What k8s-backends renders for a 1-CPU worker (WorkerPodRenderer / RayStartCommand). */
    private static final String RAY_START_LINE =
            "ray start --address=127.0.0.1:6379 --block --num-cpus=1 --labels=ray-federation.io/virtual-cluster=team-a";

    @TempDir
    Path dir;

    private Path bin;
    private Path records;
    private RayProcessRuntime runtime;
    private final List<String> exits = new CopyOnWriteArrayList<>();

    @BeforeEach
    void fakeRay() throws IOException {
        bin = Files.createDirectories(dir.resolve("bin"));
        records = Files.createDirectories(dir.resolve("records"));
        Path ray = bin.resolve("ray");
        Files.writeString(ray, """
                #!/bin/bash
                # Records its arguments and environment, says it started, then exits with $FAKE_EXIT or waits
                # (with a child, to check that the whole process group is stopped).
                out="$RECORDS/$RAY_CLOUD_INSTANCE_ID"
                printf '%s\\n' "$@" > "$out.args"
                env > "$out.env"
                echo "Ray runtime started."
                if [ -n "${FAKE_EXIT:-}" ]; then exit "$FAKE_EXIT"; fi
                sleep 600 &
                echo $! > "$out.child"
                echo $$ > "$out.pid"
                wait
                """);
        Files.setPosixFilePermissions(ray, PosixFilePermissions.fromString("rwxr-xr-x"));
        runtime = new RayProcessRuntime(RayProcessRuntime.Options.of(bin, dir.resolve("logs"))
                .withExtraEnv(Map.of("RECORDS", records.toString(), "RAY_DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES", "100000000"))
                .withStopGrace(Duration.ofSeconds(5)));
        runtime.attach((member, pod, code, message) ->
                exits.add(member + " " + pod.getMetadata().getName() + " " + code + " " + message));
    }

    @AfterEach
    void close() {
        runtime.close();
    }

    @Test
    void runsThePodsRayStartLineWithThePodsEnvItsNodeIdAndRayFirstOnPath() throws IOException {
        Pod pod = running(workerPod("w1", "rf-1", Map.of()));

        runtime.started("east", pod);

        Path env = records.resolve("rf-1.env");
        await().atMost(DEADLINE).until(() -> Files.exists(records.resolve("rf-1.pid")));
        assertThat(Files.readAllLines(records.resolve("rf-1.args"))).containsExactly("start",
                "--address=127.0.0.1:6379", "--block", "--num-cpus=1", "--labels=ray-federation.io/virtual-cluster=team-a");
        assertThat(Files.readAllLines(env)).contains(
                "RAY_CLOUD_INSTANCE_ID=rf-1",
                "RAY_NODE_TYPE_NAME=batch-a",
                "RAY_OVERRIDE_NODE_ID_FOR_TESTING=" + pod.getStatus().getPodIP(),
                "RAY_DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES=100000000");
        assertThat(Files.readAllLines(env)).anySatisfy(line -> assertThat(line).startsWith("PATH=" + bin.toAbsolutePath() + ":"));
    }

    @Test
    void givesEveryWorkerPodItsOwnRayNodeIdAsPodIpAndLeavesOtherPodsTheirs() {
        Pod a = workerPod("a", "rf-a", Map.of());
        Pod b = workerPod("b", "rf-b", Map.of());
        Pod notOurs = new PodBuilder(workerPod("c", "rf-c", Map.of())).editMetadata().withLabels(Map.of("app", "other"))
                .endMetadata().build();

        String ipA = runtime.podIp("east", a, "10.1.0.1");

        assertThat(ipA).matches("[0-9a-f]{56}").isEqualTo(runtime.podIp("east", a, "10.1.0.9"));
        assertThat(runtime.podIp("east", b, "10.1.0.2")).matches("[0-9a-f]{56}").isNotEqualTo(ipA);
        assertThat(runtime.podIp("east", notOurs, "10.1.0.3")).isEqualTo("10.1.0.3");
    }

    @Test
    void stopsTheWorkersWholeProcessGroupWhenThePodIsDeleted() throws IOException {
        Pod pod = running(workerPod("w1", "rf-1", Map.of()));
        runtime.started("east", pod);
        await().atMost(DEADLINE).until(() -> Files.exists(records.resolve("rf-1.pid")));
        long shell = Long.parseLong(Files.readString(records.resolve("rf-1.pid")).trim());
        long child = Long.parseLong(Files.readString(records.resolve("rf-1.child")).trim());
        assertThat(ProcessHandle.of(child)).isPresent();

        runtime.stopped("east", pod);

        await().atMost(DEADLINE).until(() -> ProcessHandle.of(shell).isEmpty() && ProcessHandle.of(child).isEmpty());
        assertThat(runtime.running()).isZero();
        assertThat(exits).as("a worker we stopped is not reported as exited").isEmpty();
    }

    @Test
    void reportsAWorkerThatExitsByItselfWithItsExitCodeAndLastOutput() {
        Pod pod = running(workerPod("w1", "rf-1", Map.of("FAKE_EXIT", "3")));

        runtime.started("east", pod);

        await().atMost(DEADLINE).until(() -> !exits.isEmpty());
        assertThat(exits).singleElement().asString()
                .startsWith("east w1 3 ray start exited with code 3")
                .contains("Ray runtime started.");
    }

    @Test
    void leavesPodsThatAreNotRayFederationWorkersAlone() {
        Pod other = running(new PodBuilder(workerPod("c", "rf-c", Map.of())).editMetadata()
                .withLabels(Map.of("app", "other")).endMetadata().build());
        Pod ours = running(workerPod("w1", "rf-1", Map.of()));

        runtime.started("east", other);
        runtime.started("east", ours);

        await().atMost(DEADLINE).until(() -> Files.exists(records.resolve("rf-1.pid")));
        assertThat(records.resolve("rf-c.args")).doesNotExist();
    }

    @Test
    void runsALoginShellAsAPlainOneSoThatPathKeepsRayFirst() {
        assertThat(RayProcessRuntime.withoutLoginShell(List.of("/bin/bash", "-lc", "ray start -l")))
                .containsExactly("/bin/bash", "-c", "ray start -l");
        assertThat(RayProcessRuntime.withoutLoginShell(List.of("/bin/bash", "-l", "-c", "ray start")))
                .containsExactly("/bin/bash", "-c", "ray start");
        assertThat(RayProcessRuntime.withoutLoginShell(List.of("ray", "start", "-l")))
                .containsExactly("ray", "start", "-l");
    }

    /** A worker pod as the sidecar renders it: {@code /bin/bash -lc "ray start ..."} and the contract's env. */
    private static Pod workerPod(String name, String nodeId, Map<String, String> moreEnv) {
        PodBuilder builder = new PodBuilder().withNewMetadata().withName(name).withNamespace("ray-workers")
                .withUid(UUID.randomUUID().toString())
                .addToLabels("app.kubernetes.io/managed-by", "ray-federation")
                .addToLabels("ray-federation.io/node-id", nodeId).endMetadata()
                .withNewSpec().withRestartPolicy("Never").addNewContainer().withName("ray-worker")
                .withImage("rayproject/ray:2.60.0").withCommand("/bin/bash", "-lc").withArgs(RAY_START_LINE)
                .addNewEnv().withName("RAY_CLOUD_INSTANCE_ID").withValue(nodeId).endEnv()
                .addNewEnv().withName("RAY_NODE_TYPE_NAME").withValue("batch-a").endEnv()
                .endContainer().endSpec();
        Pod pod = builder.build();
        moreEnv.forEach((k, v) -> pod.getSpec().getContainers().get(0).getEnv()
                .add(new io.fabric8.kubernetes.api.model.EnvVar(k, v, null)));
        return pod;
    }

    /** The pod as the kubelet hands it over: Running, with the pod IP the runtime chose. */
    private Pod running(Pod pod) {
        String ip = runtime.podIp("east", pod, "10.1.0.1");
        return new PodBuilder(pod).withNewStatus().withPhase("Running").withPodIP(ip).endStatus().build();
    }
}
