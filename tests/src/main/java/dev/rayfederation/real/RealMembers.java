package dev.rayfederation.real;

import dev.rayfederation.sim.MemberSpec;
import dev.rayfederation.sim.RepoRoot;
import dev.rayfederation.sim.SidecarApi;
import dev.rayfederation.sim.SidecarConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Real Kubernetes member clusters on loopback, one per {@link MemberSpec}, started in parallel by
 * {@code scripts/lib/kube-member} (which builds the binaries with {@code scripts/lib/kube-binaries} the first time).
 * {@link #close()} stops every process they started; so does a JVM shutdown hook if the caller never closes.
 *
 * <p>{@link #sidecarConfig(String)} points a sidecar at them through each member's token-only kubeconfig; run it
 * with {@link dev.rayfederation.sim.SidecarProcess}.
 */
public final class RealMembers implements AutoCloseable {

    /** How long the first build of the Kubernetes binaries may take (about 20 minutes on 2 cores). */
    static final Duration BUILD_TIMEOUT = Duration.ofMinutes(60);
    /** How long one member may take to come up (seconds when the machine is idle; generous when it is not). */
    static final Duration START_TIMEOUT = Duration.ofMinutes(4);

    private final Map<String, RealMember> members;
    private final Path dir;
    private final Thread stopOnExit;
    private boolean closed;

    private RealMembers(Map<String, RealMember> members, Path dir) {
        this.members = members;
        this.dir = dir;
        this.stopOnExit = new Thread(this::stopAll, "real-members-stop-on-exit");
    }

    /** Starts one member per spec, in parallel, each in {@code dir/<member name>}, and waits until all are ready. */
    public static RealMembers start(List<MemberSpec> specs, Path dir) {
        ensureBinaries(dir);
        Map<String, RealMember> started = new LinkedHashMap<>();
        RealMembers all = new RealMembers(started, dir);
        Runtime.getRuntime().addShutdownHook(all.stopOnExit);
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        for (MemberSpec spec : specs) {
            Path memberDir = dir.resolve(spec.name()).toAbsolutePath();
            futures.add(CompletableFuture.runAsync(() -> {
                try {
                    Files.createDirectories(memberDir);
                    Path nodes = memberDir.resolve("member-spec.json");
                    Files.writeString(nodes, SidecarApi.JSON.writeValueAsString(spec), StandardCharsets.UTF_8);
                    runScript(List.of("start", spec.name(), memberDir.toString(), "--nodes", nodes.toString(),
                                    "--namespace", spec.namespace(), "--timeout", Long.toString(START_TIMEOUT.toSeconds())),
                            dir.resolve(spec.name() + "-start.log"), START_TIMEOUT.plusSeconds(30));
                } catch (IOException | RuntimeException e) {
                    synchronized (failures) {
                        failures.add(spec.name() + ": " + e);
                    }
                }
            }));
        }
        CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).join();
        for (MemberSpec spec : specs) {
            Path memberDir = dir.resolve(spec.name()).toAbsolutePath();
            if (Files.exists(memberDir.resolve("member.json"))) {
                started.put(spec.name(), new RealMember(spec, memberDir));
            }
        }
        if (!failures.isEmpty()) {
            all.close();
            throw new IllegalStateException("real members did not start:\n" + String.join("\n", failures));
        }
        return all;
    }

    /** Builds the Kubernetes binaries once (progress on this process's stderr); a no-op when they are there. */
    static void ensureBinaries(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Path script = RepoRoot.find().resolve("scripts/lib/kube-binaries");
        try {
            Process p = new ProcessBuilder(script.toString()).redirectErrorStream(false)
                    .redirectOutput(dir.resolve("kube-binaries.out").toFile())
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            if (!p.waitFor(BUILD_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("scripts/lib/kube-binaries did not finish within " + BUILD_TIMEOUT);
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException("scripts/lib/kube-binaries failed (exit " + p.exitValue()
                        + "; its output is above)");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + script, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while building the Kubernetes binaries", e);
        }
    }

    /** Runs {@code scripts/lib/kube-member ARGS}, output appended to {@code log}; fails with its tail. */
    static void runScript(List<String> args, Path log, Duration timeout) {
        List<String> command = new ArrayList<>();
        command.add(RepoRoot.find().resolve("scripts/lib/kube-member").toString());
        command.addAll(args);
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroy();
                if (!p.waitFor(15, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
                throw new IllegalStateException(String.join(" ", command) + " did not finish within " + timeout
                        + "; log " + log + ":\n" + tail(log));
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed (exit " + p.exitValue()
                        + "); log " + log + ":\n" + tail(log));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted during " + command, e);
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(cannot read " + log + ")";
        }
    }

    public List<RealMember> members() {
        return List.copyOf(members.values());
    }

    public RealMember member(String name) {
        RealMember m = members.get(name);
        if (m == null) {
            throw new IllegalArgumentException("member: unknown '" + name + "' (known: " + members.keySet() + ")");
        }
        return m;
    }

    public Path dir() {
        return dir;
    }

    /**
     * One cluster entry per member (its token-only kubeconfig and context, cloud, region, zone, namespace), Ray
     * cluster {@code rayClusterName}, no pools yet. A distinct Ray cluster name per sidecar keeps the workers of
     * one test apart from another's.
     */
    public SidecarConfig sidecarConfig(String rayClusterName) {
        List<SidecarConfig.Cluster> clusters = members.values().stream().map(m -> new SidecarConfig.Cluster(
                m.name(), m.spec().cloud(), m.spec().region(), m.spec().zone(),
                m.sidecarKubeconfig().toString(), m.context(), m.namespace(), null, Map.of())).toList();
        return new SidecarConfig(rayClusterName, SidecarConfig.DEFAULT_HEAD_ADDRESS, clusters, List.of(), List.of(),
                Map.of());
    }

    private synchronized void stopAll() {
        if (closed) {
            return;
        }
        closed = true;
        members.values().forEach(RealMember::closeClient);
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        try (var dirs = Files.list(dir)) {
            for (Path memberDir : dirs.filter(d -> Files.exists(d.resolve("member.json"))).toList()) {
                futures.add(CompletableFuture.runAsync(() -> {
                    try {
                        runScript(List.of("stop", memberDir.toString()), memberDir.resolve("stop.log"),
                                Duration.ofSeconds(90));
                    } catch (RuntimeException e) {
                        System.err.println("RealMembers: " + e.getMessage());
                    }
                }));
            }
        } catch (IOException e) {
            System.err.println("RealMembers: cannot list " + dir + ": " + e.getMessage());
        }
        CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).join();
    }

    @Override
    public void close() {
        stopAll();
        try {
            Runtime.getRuntime().removeShutdownHook(stopOnExit);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook runs anyway
        }
    }
}
