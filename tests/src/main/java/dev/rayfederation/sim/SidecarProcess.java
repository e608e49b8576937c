package dev.rayfederation.sim;

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
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;

/**
 * The sidecar as a separate process: {@code java -jar <sidecar jar> --config <file>}. Writes the config (YAML) with
 * free loopback ports for the API and management listeners, sends the process output to a log file, waits until
 * {@code GET /readyz} answers 200, and stops it with SIGTERM (then SIGKILL after a grace period), kills it with
 * SIGKILL, or starts it again with the same config and ports. A JVM shutdown hook kills a process still running.
 */
public final class SidecarProcess implements AutoCloseable {

    /**
     * @param jar          the sidecar's runnable jar
     * @param jvmArgs      extra JVM options
     * @param readyTimeout how long to wait for /readyz 200
     * @param stopGrace    how long SIGTERM may take before SIGKILL
     * @param args         extra sidecar arguments after {@code --config FILE}, e.g. {@code --state-file FILE}
     */
    public record Options(Path jar, List<String> jvmArgs, Duration readyTimeout, Duration stopGrace, List<String> args) {
        public Options {
            jvmArgs = List.copyOf(jvmArgs);
            args = List.copyOf(args);
        }

        /** Without extra sidecar arguments. */
        public Options(Path jar, List<String> jvmArgs, Duration readyTimeout, Duration stopGrace) {
            this(jar, jvmArgs, readyTimeout, stopGrace, List.of());
        }

        /** The jar from {@link RepoRoot#sidecarJar()}, 90 s to get ready, 15 s to stop. */
        public static Options defaults() {
            return forJar(RepoRoot.sidecarJar());
        }

        /** The given jar, 90 s to get ready, 15 s to stop. */
        public static Options forJar(Path jar) {
            return new Options(jar, List.of("-Xmx256m", "-XX:+UseSerialGC"), Duration.ofSeconds(90), Duration.ofSeconds(15));
        }

        public Options withJar(Path value) {
            return new Options(value, jvmArgs, readyTimeout, stopGrace, args);
        }

        /** Extra sidecar arguments, e.g. {@code withArgs("--state-file", "/tmp/state.json")}. */
        public Options withArgs(String... values) {
            return new Options(jar, jvmArgs, readyTimeout, stopGrace, List.of(values));
        }
    }

    private static final String MAIN_CLASS_ENTRY = "dev/rayfederation/sidecar/Main.class";

    private volatile SidecarConfig config;
    private final Options options;
    private final Path dir;
    private final Path configFile;
    private final Path logFile;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final Thread killOnExit = new Thread(this::killQuietly, "sidecar-kill-on-exit");
    private int apiPort;
    private int managementPort;
    private Process process;
    private SidecarApi api;
    private int starts;

    private SidecarProcess(SidecarConfig config, Path dir, Options options) {
        this.config = config;
        this.options = options;
        this.dir = dir;
        this.configFile = dir.resolve("sidecar.yaml");
        this.logFile = dir.resolve("sidecar.log");
    }

    /** Writes the config into {@code dir}, starts the sidecar and waits until it is ready. */
    public static SidecarProcess start(SidecarConfig config, Path dir) {
        return start(config, dir, Options.defaults());
    }

    public static SidecarProcess start(SidecarConfig config, Path dir, Options options) {
        requireRunnableJar(options.jar());
        SidecarProcess p = new SidecarProcess(config, dir, options);
        Runtime.getRuntime().addShutdownHook(p.killOnExit);
        try {
            p.startWithFreshPorts();
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
        return p;
    }

    /** Fails with "build the sidecar first" when the jar is absent or has no sidecar main class. */
    public static void requireRunnableJar(Path jar) {
        String build = "build the sidecar first: cd " + guessRoot() + " && mvn -B -q -DskipTests -pl sidecar -am package";
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("sidecar jar not found at " + jar + ": " + build);
        }
        try (JarFile jf = new JarFile(jar.toFile())) {
            if (jf.getEntry(MAIN_CLASS_ENTRY) == null) {
                throw new IllegalStateException("sidecar jar " + jar + " has no " + MAIN_CLASS_ENTRY
                        + " (an empty skeleton?): " + build);
            }
        } catch (IOException e) {
            throw new IllegalStateException("sidecar jar " + jar + " is not readable (" + e.getMessage() + "): " + build, e);
        }
    }

    private static String guessRoot() {
        try {
            return RepoRoot.find().toString();
        } catch (IllegalStateException e) {
            return "<repo>";
        }
    }

    private void startWithFreshPorts() {
        for (int attempt = 1; ; attempt++) {
            apiPort = freePort();
            managementPort = freePort();
            writeConfig();
            try {
                start();
                return;
            } catch (IllegalStateException e) {
                boolean portTaken = logTail(40).contains("Address already in use");
                if (!portTaken || attempt == 3) {
                    throw e;
                }
            }
        }
    }

    private void writeConfig() {
        try {
            Files.createDirectories(dir);
            Files.writeString(configFile, config.toYaml("127.0.0.1:" + apiPort, "127.0.0.1:" + managementPort));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + configFile, e);
        }
    }

    /**
     * Replaces the config file of the running sidecar (same ports) the way Kubernetes updates a mounted ConfigMap:
     * the new content appears at once and whole (written aside, then renamed over the file).
     */
    public synchronized void rewriteConfig(SidecarConfig next) {
        rewriteConfigText(next.toYaml("127.0.0.1:" + apiPort, "127.0.0.1:" + managementPort));
        config = next;
    }

    /** As {@link #rewriteConfig}, with any text (an invalid edit); {@link #config()} stays as it was. */
    public synchronized void rewriteConfigText(String yaml) {
        try {
            Path aside = Files.createTempFile(dir, ".sidecar-", ".yaml");
            Files.writeString(aside, yaml);
            Files.move(aside, configFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + configFile, e);
        }
    }

    /** Starts the process (again) with the same config and ports and waits for /readyz 200. */
    public synchronized void start() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("the sidecar is already running (pid " + process.pid() + ")");
        }
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(options.jvmArgs());
        command.add("-jar");
        command.add(options.jar().toAbsolutePath().toString());
        command.add("--config");
        command.add(configFile.toAbsolutePath().toString());
        command.addAll(options.args());
        try {
            Files.writeString(logFile, "=== start " + (++starts) + " at " + Instant.now() + ": " + String.join(" ", command)
                    + "\n", StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
            process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile())).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + String.join(" ", command), e);
        }
        awaitReady();
    }

    private void awaitReady() {
        Instant deadline = Instant.now().plus(options.readyTimeout());
        String last = "no answer yet";
        while (Instant.now().isBefore(deadline)) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the sidecar exited with code " + process.exitValue()
                        + " before it was ready; config " + configFile + "; last log lines:\n" + logTail(40));
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(managementUrl().resolve("/readyz"))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200 && apiAnswers() && process.isAlive()) {
                    return;
                }
                last = r.statusCode() == 200 ? "200, but the API port does not answer yet (is /readyz another"
                        + " process's? this one is still starting)" : r.statusCode() + " " + r.body();
            } catch (IOException e) {
                last = e.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the sidecar", e);
            }
            pause(200);
        }
        String tail = logTail(40);
        killQuietly();
        throw new IllegalStateException("the sidecar was not ready within " + options.readyTimeout().toSeconds()
                + " s (last /readyz: " + last + "); last log lines:\n" + tail);
    }

    /**
     * True when something answers HTTP on the API port. With /readyz 200 and the process alive, that is this sidecar:
     * a free port picked here may be taken by another process before the sidecar binds it, and such a process could
     * answer /readyz for a sidecar that is still starting (and about to exit: address in use).
     */
    private boolean apiAnswers() throws InterruptedException {
        try {
            http.send(HttpRequest.newBuilder(apiUrl().resolve("/v1/node-types")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.discarding());
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** SIGTERM, wait up to the grace period, then SIGKILL. Returns the exit code (-1 if it was not running). */
    public synchronized int stop() {
        if (process == null || !process.isAlive()) {
            return process == null ? -1 : process.exitValue();
        }
        process.destroy();
        try {
            if (!process.waitFor(options.stopGrace().toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor();
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            return -1;
        }
    }

    /** SIGKILL (kill -9) and wait until it is gone. */
    public synchronized void kill() {
        if (process != null && process.isAlive()) {
            try {
                process.destroyForcibly().waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** {@link #stop()} then {@link #start()}. */
    public void restart() {
        stop();
        start();
    }

    private void killQuietly() {
        Process p = process;
        if (p != null && p.isAlive()) {
            p.destroyForcibly();
        }
    }

    public synchronized boolean isAlive() {
        return process != null && process.isAlive();
    }

    public synchronized long pid() {
        return process == null ? -1 : process.pid();
    }

    public URI apiUrl() {
        return URI.create("http://127.0.0.1:" + apiPort);
    }

    public URI managementUrl() {
        return URI.create("http://127.0.0.1:" + managementPort);
    }

    /** A client of this sidecar's API (no token); one instance, valid across restarts (the ports stay). */
    public synchronized SidecarApi api() {
        if (api == null || !api.base().equals(apiUrl())) {
            api = new SidecarApi(apiUrl(), null);
        }
        return api;
    }

    public SidecarConfig config() {
        return config;
    }

    public Path configFile() {
        return configFile;
    }

    public Path logFile() {
        return logFile;
    }

    /** The last {@code lines} lines of the log (all starts). */
    public String logTail(int lines) {
        try {
            if (!Files.exists(logFile)) {
                return "(no log yet)";
            }
            List<String> all = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(cannot read " + logFile + ": " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() {
        stop();
        try {
            Runtime.getRuntime().removeShutdownHook(killOnExit);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook runs anyway
        }
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port", e);
        }
    }

    /** One sample of this sidecar's GET /metrics (0 when absent), its labels matched exactly. */
    public double metric(String name, java.util.Map<String, String> labels) throws IOException, InterruptedException {
        // HTTP/1.1 as Prometheus scrapes: the JDK client's default h2c upgrade now and then garbles the answer
        HttpResponse<String> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
                .send(HttpRequest.newBuilder(managementUrl().resolve("/metrics"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("GET /metrics answered " + r.statusCode());
        }
        java.util.regex.Pattern sample = java.util.regex.Pattern.compile(
                "^" + java.util.regex.Pattern.quote(name) + "\\{([^}]*)\\} (\\S+)$", java.util.regex.Pattern.MULTILINE);
        java.util.regex.Pattern label = java.util.regex.Pattern.compile("(\\w+)=\"([^\"]*)\"");
        java.util.regex.Matcher m = sample.matcher(r.body());
        while (m.find()) {
            java.util.Map<String, String> seen = new java.util.TreeMap<>();
            java.util.regex.Matcher l = label.matcher(m.group(1));
            while (l.find()) {
                seen.put(l.group(1), l.group(2));
            }
            if (seen.equals(new java.util.TreeMap<>(labels))) {
                return Double.parseDouble(m.group(2));
            }
        }
        return 0;
    }
}
