package dev.rayfederation.sim.bench;

import dev.rayfederation.sim.SidecarConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The sidecar jar as a process for benchmarks: free loopback ports, output to {@code sidecar.log}, start-up timed from
 * launching the JVM to the first {@code GET /readyz} 200 (polled every 10 ms), and its memory read from outside:
 * RSS from {@code /proc/<pid>/status}, heap from {@code jcmd <pid> GC.heap_info}.
 */
public final class SidecarRun implements AutoCloseable {

    /**
     * The Helm chart's {@code jvmOptions} (charts/ray-federation/values.yaml), with {@code -XX:MaxRAM=768m} standing
     * in for its container's memory limit: about 537 MiB of heap, the serial collector, smaller stacks, code cache
     * and metaspace caps, and the client compiler only.
     */
    public static final List<String> CHART_JVM = List.of("-XX:MaxRAM=768m", "-XX:MaxRAMPercentage=70",
            "-XX:+UseSerialGC", "-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=30", "-Xss512k",
            "-XX:ReservedCodeCacheSize=64m", "-XX:MaxMetaspaceSize=128m", "-XX:TieredStopAtLevel=1",
            "-XX:+ExitOnOutOfMemoryError");

    /** Memory of the process at one instant, MiB. */
    public record Memory(double rssMiB, double peakRssMiB, double heapUsedMiB, double heapCommittedMiB) {
    }

    private final Path jar;
    private final List<String> jvmArgs;
    private final Path dir;
    private final Path configFile;
    private final Path logFile;
    private final Duration readyTimeout;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();
    private final int apiPort;
    private final int managementPort;
    private Process process;
    private Duration lastStartup;

    private SidecarRun(Path jar, List<String> jvmArgs, SidecarConfig config, Path dir, Duration readyTimeout) {
        this.jar = jar;
        this.jvmArgs = List.copyOf(jvmArgs);
        this.dir = dir;
        this.readyTimeout = readyTimeout;
        this.configFile = dir.resolve("sidecar.yaml");
        this.logFile = dir.resolve("sidecar.log");
        this.apiPort = freePort();
        this.managementPort = freePort();
        try {
            Files.createDirectories(dir);
            Files.writeString(configFile, config.toYaml("127.0.0.1:" + apiPort, "127.0.0.1:" + managementPort));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + configFile, e);
        }
    }

    /** Writes the config into {@code dir}, starts the sidecar and waits until it is ready. */
    public static SidecarRun start(Path jar, List<String> jvmArgs, SidecarConfig config, Path dir, Duration readyTimeout) {
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("sidecar jar not found at " + jar + ": build it first (scripts/lib/java-jars)");
        }
        SidecarRun run = new SidecarRun(jar, jvmArgs, config, dir, readyTimeout);
        try {
            run.startProcess();
        } catch (RuntimeException e) {
            run.close();
            throw e;
        }
        return run;
    }

    /** Time from launching the JVM to ready, of the last start. */
    public Duration startup() {
        return lastStartup;
    }

    /** Stops the process (SIGTERM) and starts it again with the same config; returns the new start-up time. */
    public Duration restart() {
        stop();
        startProcess();
        return lastStartup;
    }

    private void startProcess() {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmArgs);
        command.add("-jar");
        command.add(jar.toAbsolutePath().toString());
        command.add("--config");
        command.add(configFile.toAbsolutePath().toString());
        try {
            Files.writeString(logFile, "=== " + String.join(" ", command) + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            long t0 = System.nanoTime();
            process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile())).start();
            awaitReady(t0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + String.join(" ", command), e);
        }
    }

    private void awaitReady(long t0) {
        long deadline = t0 + readyTimeout.toNanos();
        HttpRequest ready = HttpRequest.newBuilder(managementUrl().resolve("/readyz")).timeout(Duration.ofSeconds(5)).build();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the sidecar exited with code " + process.exitValue()
                        + " before it was ready; see " + logFile + ":\n" + logTail(30));
            }
            try {
                HttpResponse<String> r = http.send(ready, HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    lastStartup = Duration.ofNanos(System.nanoTime() - t0);
                    return;
                }
                last = r.statusCode() + " " + r.body();
            } catch (IOException e) {
                last = e.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the sidecar", e);
            }
            sleep(10);
        }
        String tail = logTail(30);
        process.destroyForcibly();
        throw new IllegalStateException("the sidecar was not ready within " + readyTimeout.toSeconds()
                + " s (last /readyz: " + last + "); see " + logFile + ":\n" + tail);
    }

    public URI apiUrl() {
        return URI.create("http://127.0.0.1:" + apiPort);
    }

    public URI managementUrl() {
        return URI.create("http://127.0.0.1:" + managementPort);
    }

    public long pid() {
        return process.pid();
    }

    public Path logFile() {
        return logFile;
    }

    /** RSS and peak RSS from /proc; heap used and committed from jcmd (after a full GC when {@code afterGc}). */
    public Memory memory(boolean afterGc) {
        if (afterGc) {
            jcmd("GC.run");
        }
        double rss = procStatusKiB("VmRSS") / 1024.0;
        double peak = procStatusKiB("VmHWM") / 1024.0;
        String heap = jcmd("GC.heap_info");
        Matcher m = Pattern.compile("total (\\d+)K, used (\\d+)K").matcher(heap);
        long total = 0;
        long used = 0;
        while (m.find()) {
            total += Long.parseLong(m.group(1));
            used += Long.parseLong(m.group(2));
        }
        return new Memory(rss, peak, used / 1024.0, total / 1024.0);
    }

    /** CPU time (user + system) the process has used so far, in seconds. */
    public double cpuSeconds() {
        return cpuSeconds(pid());
    }

    /** CPU time (user + system) of a process, in seconds, from /proc/<pid>/stat (clock ticks of 1/100 s). */
    static double cpuSeconds(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read /proc/" + pid + "/stat", e);
        }
    }

    private long procStatusKiB(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
                if (line.startsWith(key + ":")) {
                    return Long.parseLong(line.substring(key.length() + 1).replace("kB", "").trim());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read /proc/" + pid() + "/status", e);
        }
        throw new IllegalStateException("/proc/" + pid() + "/status has no " + key);
    }

    /** Runs {@code jcmd <pid> <command>} and returns its output. */
    public String jcmd(String... command) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString());
        cmd.add(Long.toString(pid()));
        cmd.addAll(List.of(command));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + String.join(" ", cmd), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted during " + String.join(" ", cmd), e);
        }
    }

    /** The last lines of the log. */
    public String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(cannot read " + logFile + ")";
        }
    }

    /** SIGTERM, then SIGKILL after 20 s. */
    public void stop() {
        if (process == null || !process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    @Override
    public void close() {
        stop();
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port", e);
        }
    }
}
