package dev.rayfederation.sim;

import dev.rayfederation.k8s.render.ProbePodRenderer;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs the network preflight's probe pods for real on this host, and hands every other pod to {@code workers} (the
 * runtime of the worker pods: {@link PodRuntime#NONE} or Ray's). A probe pod's container command (python3 and the
 * probe script) is started as a process with the pod's environment; its pod IP is a loopback address of its own
 * ({@code 127.<member#>.x.y}, all of 127/8 reaches this host on Linux), so the sidecar's dial-back reaches the
 * probe's listener and members never clash on the probe port. Its exit code and last line of output become the
 * pod's end, as the termination message would.
 *
 * <p>{@link #cutOff} stands for a member whose pod network cannot reach the head: its probes see the head's
 * address as one where nothing listens, and fail the worker -> head check as a real probe would.
 * {@link #unreachableFromHead} stands for the other direction: its probes' pod IPs, as the API shows them, are
 * addresses where nothing listens (the probe listens on an address of its own), so the sidecar's dial-back fails.
 */
public final class PreflightRuntime implements PodRuntime, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PreflightRuntime.class);
    /** Where a cut-off member's probes "see" the head: a port nothing on this host listens on (the discard port). */
    static final String UNREACHABLE_HEAD = "127.0.0.1:9";
    /** The pod IP shown for probes of a member the head cannot reach: a loopback address nothing listens on. */
    static final String UNREACHABLE_POD_IP = "127.255.255.254";

    private final PodRuntime workers;
    private final Path dir;
    private final Set<String> cutOff = ConcurrentHashMap.newKeySet();
    private final Set<String> unreachable = ConcurrentHashMap.newKeySet();
    private final Map<String, Process> running = new ConcurrentHashMap<>();
    private final Map<String, String> ips = new ConcurrentHashMap<>();
    private volatile PodExits exits;
    private volatile boolean closed;

    /** @param dir where each probe's output is kept */
    public PreflightRuntime(PodRuntime workers, Path dir) {
        this.workers = workers;
        this.dir = dir;
    }

    /** Cuts {@code member}'s probes off from the head ({@code true}) or lets them reach it again. */
    public void cutOff(String member, boolean cut) {
        if (cut) {
            cutOff.add(member);
        } else {
            cutOff.remove(member);
        }
    }

    /** Makes {@code member}'s probes unreachable from the head ({@code true}), or reachable again. */
    public void unreachableFromHead(String member, boolean cut) {
        if (cut) {
            unreachable.add(member);
        } else {
            unreachable.remove(member);
        }
    }

    static boolean isProbe(Pod pod) {
        Map<String, String> labels = pod.getMetadata().getLabels();
        return labels != null && labels.containsKey(ProbePodRenderer.LABEL_PREFLIGHT_OF);
    }

    @Override
    public void attach(PodExits value) {
        exits = value;
        workers.attach(value);
    }

    @Override
    public String podIp(String member, Pod pod, String proposed) {
        if (!isProbe(pod)) {
            return workers.podIp(member, pod, proposed);
        }
        String ip = proposed.startsWith("10.") ? "127." + proposed.substring(3) : proposed;
        ips.put(pod.getMetadata().getUid(), ip);
        return unreachable.contains(member) ? UNREACHABLE_POD_IP : ip;
    }

    @Override
    public void started(String member, Pod pod) {
        if (!isProbe(pod)) {
            workers.started(member, pod);
            return;
        }
        String uid = pod.getMetadata().getUid();
        Container c = pod.getSpec().getContainers().get(0);
        List<String> command = new ArrayList<>(c.getCommand());
        command.addAll(c.getArgs() == null ? List.of() : c.getArgs());
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        for (EnvVar e : c.getEnv()) {
            builder.environment().put(e.getName(), e.getValue() == null ? "" : e.getValue());
        }
        builder.environment().put(ProbePodRenderer.ENV_POD_IP, ips.getOrDefault(uid, "127.0.0.1"));
        if (cutOff.contains(member)) {
            builder.environment().put(ProbePodRenderer.ENV_HEAD, UNREACHABLE_HEAD);
        }
        Path log = dir.resolve(member + "-" + pod.getMetadata().getName() + ".log");
        try {
            Files.createDirectories(dir);
            builder.redirectOutput(log.toFile());
            Process p = builder.start();
            running.put(uid, p);
            p.onExit().thenAccept(done -> ended(member, pod, done, log));
        } catch (IOException e) {
            exits.exited(member, pod, 127, "cannot start " + command.get(0) + ": " + e.getMessage());
        }
    }

    private void ended(String member, Pod pod, Process p, Path log) {
        if (running.remove(pod.getMetadata().getUid()) == null || closed) {
            return; // stopped: the pod was deleted
        }
        exits.exited(member, pod, p.exitValue(), lastLine(log));
    }

    private static String lastLine(Path log) {
        try {
            List<String> lines = Files.readAllLines(log).stream().filter(l -> !l.isBlank()).toList();
            return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void stopped(String member, Pod pod) {
        if (!isProbe(pod)) {
            workers.stopped(member, pod);
            return;
        }
        Process p = running.remove(pod.getMetadata().getUid());
        if (p != null) {
            p.destroyForcibly();
        }
    }

    @Override
    public boolean reportsReadiness() {
        return workers.reportsReadiness();
    }

    @Override
    public void attachReadiness(PodReadiness readiness) {
        workers.attachReadiness(readiness);
    }

    /** Kills every probe still running. */
    @Override
    public void close() {
        closed = true;
        running.values().forEach(p -> {
            p.destroyForcibly();
            try {
                p.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        running.clear();
        LOG.debug("preflight runtime closed");
    }
}
