package dev.rayfederation.sim;

import dev.rayfederation.k8s.render.WorkerPodContract;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Runs every worker pod of ray-federation as a real Ray worker on this machine: when the {@link SimulatedKubelet}
 * marks a pod Running, this runs the pod's own container command line ({@code /bin/bash -lc "ray start
 * --address=<head> --block ..."}, see k8s-backends' {@code RayStartCommand}) with the pod's env vars
 * ({@code RAY_CLOUD_INSTANCE_ID}, {@code RAY_NODE_TYPE_NAME}, ...), in a session and process group of its own; when
 * the pod is deleted it stops it as a kubelet stops a container: SIGTERM to the main process, then SIGKILL to all
 * that is left of the group once that exited or after a grace period. A process that ends by itself is reported to
 * the kubelet, which marks the pod Failed (as a real kubelet does with {@code restartPolicy: Never}).
 *
 * <p>Single-host adjustments, as in Ray's own fake multi-node harness: all raylets share one IP, so every worker gets
 * a random 56-hex Ray node id through {@code RAY_OVERRIDE_NODE_ID_FOR_TESTING}, and the kubelet reports that id as the
 * pod IP (the sidecar's node {@code internalIp}): Ray's autoscaler, with {@code use_node_id_as_ip: true}, keys nodes
 * by node id. {@code PATH} starts with the directory holding {@code ray}. A login shell ({@code bash -l}) is run as
 * a plain one ({@code bash -c}): a login shell's {@code /etc/profile} would reset {@code PATH}, and a simulated pod has
 * no image whose profile matters. Pods without the {@code app.kubernetes.io/managed-by=ray-federation} label are
 * left alone (they only hold room). Start-ups are serialised (see {@link #started}).
 *
 * <p>Each worker's output goes to {@code <logDir>/<member>_<pod name>.log}.
 */
public final class RayProcessRuntime implements PodRuntime, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RayProcessRuntime.class);

    /** Set on every worker: its Ray node id. */
    public static final String ENV_NODE_ID = "RAY_OVERRIDE_NODE_ID_FOR_TESTING";
    /** Ray's node ids are 28 bytes. */
    private static final int NODE_ID_BYTES = 28;
    private static final String MANAGED_BY = WorkerPodContract.LABEL_MANAGED_BY;
    private static final String MANAGED_BY_US = "ray-federation";
    private static final int TAIL_LINES = 8;
    /** What {@code ray start} prints once the node is up. */
    private static final String STARTED_LINE = "Ray runtime started";
    /** The longest one start-up holds back the next. */
    private static final Duration START_WAIT = Duration.ofSeconds(60);

    /**
     * @param rayBin    directory holding the {@code ray} executable (a venv's {@code bin}); put first on PATH
     * @param logDir    where each worker's output goes
     * @param extraEnv  more environment for every worker (e.g. {@code RAY_DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES})
     * @param stopGrace how long a worker may take to exit after SIGTERM before SIGKILL
     */
    public record Options(Path rayBin, Path logDir, Map<String, String> extraEnv, Duration stopGrace) {
        public Options {
            Objects.requireNonNull(rayBin, "rayBin");
            Objects.requireNonNull(logDir, "logDir");
            extraEnv = Map.copyOf(extraEnv);
            Objects.requireNonNull(stopGrace, "stopGrace");
            if (!Files.isExecutable(rayBin.resolve("ray"))) {
                throw new IllegalArgumentException("rayBin: no executable 'ray' in " + rayBin
                        + " (pass the bin directory of a virtual environment with Ray installed)");
            }
        }

        /** No extra env, 10 s to stop. */
        public static Options of(Path rayBin, Path logDir) {
            return new Options(rayBin, logDir, Map.of(), Duration.ofSeconds(10));
        }

        public Options withExtraEnv(Map<String, String> value) {
            return new Options(rayBin, logDir, value, stopGrace);
        }

        public Options withStopGrace(Duration value) {
            return new Options(rayBin, logDir, extraEnv, value);
        }
    }

    /** One worker pod: its process once started, and whether we are the ones stopping it. Guarded by itself. */
    private static final class Worker {
        final String member;
        final Pod pod;
        final Path log;
        Process process;
        boolean stopping;

        Worker(String member, Pod pod, Path log) {
            this.member = member;
            this.pod = pod;
            this.log = log;
        }

        String name() {
            return member + "/" + pod.getMetadata().getName();
        }

        synchronized Process process() {
            return process;
        }
    }

    private final Options options;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, String> nodeIds = new ConcurrentHashMap<>();
    private final Map<String, Worker> workers = new ConcurrentHashMap<>();
    /** One {@code ray start} at a time: concurrent ones in one session directory race for socket names. */
    private final ExecutorService starter = Executors.newSingleThreadExecutor(daemon("ray-worker-starter"));
    private final ExecutorService stopper = Executors.newCachedThreadPool(daemon("ray-worker-stopper"));
    private volatile PodExits exits = (member, pod, code, message) -> { };
    private volatile PodReadiness readiness = (member, pod) -> { };
    private volatile boolean closed;

    public RayProcessRuntime(Options options) {
        this.options = Objects.requireNonNull(options, "options");
        try {
            Files.createDirectories(options.logDir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the worker log directory " + options.logDir(), e);
        }
    }

    @Override
    public void attach(PodExits value) {
        exits = Objects.requireNonNull(value, "exits");
    }

    /** Ready means what the worker's readiness probe means: the raylet is up ("Ray runtime started" in its log). */
    @Override
    public boolean reportsReadiness() {
        return true;
    }

    @Override
    public void attachReadiness(PodReadiness value) {
        readiness = Objects.requireNonNull(value, "readiness");
    }

    /** A fresh Ray node id (56 hex digits) per worker pod, kept for the pod's lifetime; other pods keep theirs. */
    @Override
    public String podIp(String member, Pod pod, String proposed) {
        if (!isOurs(pod)) {
            return proposed;
        }
        return nodeIds.computeIfAbsent(pod.getMetadata().getUid(), uid -> newNodeId());
    }

    /**
     * Queues the pod's worker process. Start-ups are serialised: each waits until the previous {@code ray start}
     * said "Ray runtime started" (or exited, or took longer than {@link #START_WAIT}): several {@code ray start} at
     * once on one host pick the same socket file names in the shared session directory, and one of them dies.
     */
    @Override
    public void started(String member, Pod pod) {
        if (!isOurs(pod) || closed) {
            return;
        }
        String uid = pod.getMetadata().getUid();
        Worker worker = new Worker(member, pod, options.logDir().resolve(member + "_" + pod.getMetadata().getName() + ".log"));
        if (workers.putIfAbsent(uid, worker) == null) {
            starter.execute(() -> launch(uid, worker));
        }
    }

    @Override
    public void stopped(String member, Pod pod) {
        Worker worker = workers.remove(pod.getMetadata().getUid());
        nodeIds.remove(pod.getMetadata().getUid());
        if (worker != null) {
            Process process;
            synchronized (worker) {
                worker.stopping = true;
                process = worker.process;
            }
            if (process != null) {
                stopper.execute(() -> stop(worker, process));
            }
        }
    }

    /** Worker processes still running. */
    public int running() {
        return (int) workers.values().stream().map(Worker::process).filter(p -> p != null && p.isAlive()).count();
    }

    /** Stops every worker (SIGTERM to its main process, SIGKILL to the rest after it or the grace period) and waits. */
    @Override
    public void close() {
        closed = true;
        starter.shutdownNow();
        List<Worker> all = new ArrayList<>(workers.values());
        workers.clear();
        List<Future<?>> stops = new ArrayList<>();
        for (Worker w : all) {
            Process process;
            synchronized (w) {
                w.stopping = true;
                process = w.process;
            }
            if (process != null) {
                stops.add(stopper.submit(() -> stop(w, process)));
            }
        }
        for (Future<?> f : stops) {
            try {
                f.get(options.stopGrace().toMillis() + 5_000, TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                LOG.warn("stopping a Ray worker: {}", e.toString());
            }
        }
        stopper.shutdown();
    }

    /** On the starter thread: starts the worker unless its pod went away meanwhile, then waits for it to be up. */
    private void launch(String uid, Worker worker) {
        Process process;
        synchronized (worker) {
            if (worker.stopping || closed) {
                return;
            }
            ProcessBuilder builder;
            try {
                builder = processFor(worker.pod);
            } catch (IllegalArgumentException e) {
                LOG.warn("{}: cannot run the pod: {}", worker.name(), e.getMessage());
                workers.remove(uid, worker);
                exits.exited(worker.member, worker.pod, 127, e.getMessage());
                return;
            }
            builder.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(worker.log.toFile()));
            try {
                process = builder.start();
            } catch (IOException e) {
                LOG.warn("{}: cannot start its worker: {}", worker.name(), e.getMessage());
                workers.remove(uid, worker);
                exits.exited(worker.member, worker.pod, 127, "cannot start " + builder.command() + ": " + e.getMessage());
                return;
            }
            worker.process = process;
        }
        LOG.info("{}: runs as Ray worker pid {} (node id {}, log {})", worker.name(), process.pid(),
                nodeIdOf(worker.pod), worker.log);
        process.onExit().thenAccept(p -> exited(uid, worker, p));
        Instant deadline = Instant.now().plus(START_WAIT);
        while (process.isAlive() && Instant.now().isBefore(deadline) && !logSays(worker.log, STARTED_LINE)) {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        if (process.isAlive() && logSays(worker.log, STARTED_LINE)) {
            readiness.ready(worker.member, worker.pod);
        } else if (process.isAlive()) {
            stopper.execute(() -> awaitReady(worker, process)); // slower than START_WAIT: keep watching, off the starter
        }
    }

    private void awaitReady(Worker worker, Process process) {
        while (process.isAlive() && !worker.stopping && !closed) {
            if (logSays(worker.log, STARTED_LINE)) {
                readiness.ready(worker.member, worker.pod);
                return;
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** The command line and environment of the pod's worker container (see the class comment). */
    ProcessBuilder processFor(Pod pod) {
        Container container = workerContainer(pod);
        List<String> command = new ArrayList<>();
        if (container.getCommand() != null) {
            command.addAll(container.getCommand());
        }
        if (container.getArgs() != null) {
            command.addAll(container.getArgs());
        }
        if (command.isEmpty()) {
            throw new IllegalArgumentException("container " + container.getName()
                    + " has neither command nor args: the image's entrypoint cannot be simulated");
        }
        List<String> argv = new ArrayList<>();
        argv.add("setsid");
        argv.addAll(withoutLoginShell(command));
        ProcessBuilder builder = new ProcessBuilder(argv);
        Map<String, String> env = builder.environment();
        if (container.getEnv() != null) {
            for (EnvVar e : container.getEnv()) {
                if (e.getValueFrom() != null) {
                    LOG.debug("pod {}: env {} comes from valueFrom: not simulated", pod.getMetadata().getName(), e.getName());
                } else {
                    env.put(e.getName(), e.getValue() == null ? "" : e.getValue());
                }
            }
        }
        env.putAll(options.extraEnv());
        String nodeId = nodeIdOf(pod);
        if (nodeId != null) {
            env.put(ENV_NODE_ID, nodeId);
        }
        String path = env.getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("PATH", options.rayBin().toAbsolutePath() + ":" + path);
        return builder;
    }

    /** The pod's Ray node id: its pod IP when that came from {@link #podIp}. */
    private String nodeIdOf(Pod pod) {
        String known = nodeIds.get(pod.getMetadata().getUid());
        if (known != null) {
            return known;
        }
        String ip = pod.getStatus() == null ? null : pod.getStatus().getPodIP();
        return ip != null && ip.matches("[0-9a-f]{" + 2 * NODE_ID_BYTES + "}") ? ip : null;
    }

    /** {@code bash -lc LINE} → {@code bash -c LINE}; {@code bash -l -c LINE} → {@code bash -c LINE}. */
    static List<String> withoutLoginShell(List<String> command) {
        String shell = Path.of(command.get(0)).getFileName().toString();
        if (!shell.equals("bash") && !shell.equals("sh")) {
            return command;
        }
        List<String> out = new ArrayList<>(command.size());
        out.add(command.get(0));
        boolean options = true;
        for (String arg : command.subList(1, command.size())) {
            boolean option = options && arg.startsWith("-") && arg.length() > 1;
            if (!option) {
                options = false; // the command string and its arguments: copied as they are
                out.add(arg);
            } else if (arg.equals("-l") || arg.equals("--login")) {
                continue;
            } else if (!arg.startsWith("--") && arg.indexOf('l') > 0) {
                out.add(arg.replace("l", ""));
            } else {
                out.add(arg);
            }
        }
        return out;
    }

    private static Container workerContainer(Pod pod) {
        List<Container> containers = pod.getSpec() == null ? List.of() : pod.getSpec().getContainers();
        if (containers == null || containers.isEmpty()) {
            throw new IllegalArgumentException("the pod has no container");
        }
        for (Container c : containers) {
            if (c.getEnv() != null && c.getEnv().stream().anyMatch(e -> WorkerPodContract.ENV_INSTANCE_ID.equals(e.getName()))) {
                return c;
            }
        }
        return containers.get(0);
    }

    private void exited(String uid, Worker worker, Process process) {
        synchronized (worker) {
            if (worker.stopping) {
                return;
            }
        }
        workers.remove(uid, worker);
        int code = process.exitValue();
        String message = "ray start exited with code " + code + "; last output: " + tail(worker.log);
        LOG.info("{}: its Ray worker exited by itself (code {})", worker.name(), code);
        if (!closed) {
            exits.exited(worker.member, worker.pod, code, message);
        }
    }

    /**
     * As a kubelet stops a container: SIGTERM to the main process ({@code ray start}, which drains its Ray node and
     * stops its own children), then, once it exited or after the grace period, SIGKILL to whatever is left of its
     * process group and descendants (the container runtime killing the container's cgroup).
     */
    private void stop(Worker worker, Process root) {
        List<ProcessHandle> tree = new ArrayList<>();
        tree.add(root.toHandle());
        root.descendants().forEach(tree::add);
        root.toHandle().destroy();
        Instant deadline = Instant.now().plus(options.stopGrace());
        while (root.isAlive() && Instant.now().isBefore(deadline)) {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (root.isAlive()) {
            LOG.info("{}: its Ray worker outlived SIGTERM by {}: SIGKILL", worker.name(), options.stopGrace());
        }
        signalGroup(root.pid(), "KILL");
        tree.forEach(ProcessHandle::destroyForcibly);
        LOG.info("{}: stopped its Ray worker", worker.name());
    }

    /** {@code kill -SIG -- -pgid}: the worker runs under setsid, so its pid is its process group id. */
    private static void signalGroup(long pgid, String signal) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, "--", "-" + pgid)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            kill.waitFor(5, TimeUnit.SECONDS);
        } catch (IOException e) {
            LOG.debug("kill -{} -{}: {}", signal, pgid, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static boolean logSays(Path log, String text) {
        try {
            return Files.readString(log, StandardCharsets.ISO_8859_1).contains(text);
        } catch (IOException e) {
            return false;
        }
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.ISO_8859_1);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - TAIL_LINES), lines.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(no output: " + e.getMessage() + ")";
        }
    }

    private String newNodeId() {
        byte[] bytes = new byte[NODE_ID_BYTES];
        synchronized (random) {
            random.nextBytes(bytes);
        }
        return HexFormat.of().formatHex(bytes);
    }

    private static boolean isOurs(Pod pod) {
        Map<String, String> labels = pod.getMetadata() == null ? null : pod.getMetadata().getLabels();
        return labels != null && MANAGED_BY_US.equals(labels.get(MANAGED_BY));
    }
}
