package dev.rayfederation.sim;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Command line: starts simulated members and their kubelet, writes kubeconfigs and {@code members.json} into a
 * directory, prints {@code READY <path to members.json>} and runs until standard input closes or the process gets
 * SIGTERM/SIGINT.
 *
 * <pre>
 * java -jar tests/target/ray-federation-sim-all.jar --topology demo --dir /tmp/sim [--running-delay 2s] [--ignore-stdin]
 *      [--runtime ray --ray-bin VENV/bin [--worker-logs DIR] [--worker-env KEY=VALUE]...]
 * </pre>
 *
 * <p>{@code --runtime ray} runs every worker pod as a real Ray worker process ({@link RayProcessRuntime}); its output
 * goes to {@code --worker-logs} (default {@code <dir>/workers}).
 */
public final class SimulatedMembersMain {

    private SimulatedMembersMain() {
    }

    public static void main(String[] args) throws Exception {
        String topology = "demo";
        Path dir = null;
        Duration delay = Duration.ZERO;
        boolean watchStdin = true;
        String runtimeName = "none";
        Path rayBin = null;
        Path workerLogs = null;
        Map<String, String> workerEnv = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--topology" -> topology = value(args, ++i, "--topology");
                case "--dir" -> dir = Path.of(value(args, ++i, "--dir"));
                case "--running-delay" -> delay = DurationArg.parse(value(args, ++i, "--running-delay"), "--running-delay");
                case "--ignore-stdin" -> watchStdin = false;
                case "--runtime" -> runtimeName = value(args, ++i, "--runtime");
                case "--ray-bin" -> rayBin = Path.of(value(args, ++i, "--ray-bin"));
                case "--worker-logs" -> workerLogs = Path.of(value(args, ++i, "--worker-logs"));
                case "--worker-env" -> {
                    String kv = value(args, ++i, "--worker-env");
                    int eq = kv.indexOf('=');
                    if (eq <= 0) {
                        fail("--worker-env: expected KEY=VALUE, got '" + kv + "'");
                    }
                    workerEnv.put(kv.substring(0, eq), kv.substring(eq + 1));
                }
                case "-h", "--help" -> {
                    usage();
                    return;
                }
                default -> fail("unknown argument '" + args[i] + "'");
            }
        }
        if (dir == null) {
            fail("--dir is required");
        }
        RayProcessRuntime rayRuntime = null;
        switch (runtimeName) {
            case "none" -> {
                if (rayBin != null || workerLogs != null || !workerEnv.isEmpty()) {
                    fail("--ray-bin, --worker-logs and --worker-env need --runtime ray");
                }
            }
            case "ray" -> {
                if (rayBin == null) {
                    fail("--runtime ray needs --ray-bin DIR (the bin directory of a venv with Ray)");
                }
                try {
                    rayRuntime = new RayProcessRuntime(RayProcessRuntime.Options.of(rayBin,
                            workerLogs != null ? workerLogs : dir.resolve("workers")).withExtraEnv(workerEnv));
                } catch (IllegalArgumentException e) {
                    fail("--ray-bin: " + e.getMessage());
                }
            }
            default -> fail("--runtime: unknown '" + runtimeName + "' (known: none, ray)");
        }
        List<MemberSpec> specs = Topologies.byName(topology);
        SimulatedKubelet.Options kubeletOptions = SimulatedKubelet.Options.defaults().withRunningDelay(delay);
        if (rayRuntime != null) {
            kubeletOptions = kubeletOptions.withRuntime(rayRuntime);
        }
        SimulatedMembers members = SimulatedMembers.start(specs, dir, kubeletOptions);
        RayProcessRuntime runtime = rayRuntime;
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            members.close();
            if (runtime != null) {
                runtime.close();
            }
            done.countDown();
        }, "sim-shutdown"));
        Path manifest = members.writeManifest();
        for (SimulatedMember m : members.members()) {
            System.out.println("member " + m.name() + " " + m.url() + " kubeconfig " + m.kubeconfig());
        }
        System.out.println("READY " + manifest.toAbsolutePath());
        System.out.flush();
        if (watchStdin) {
            drain(System.in);
            System.exit(0);
        }
        done.await();
    }

    private static void drain(InputStream in) throws IOException {
        byte[] buf = new byte[1024];
        while (in.read(buf) >= 0) {
            // wait for end of input
        }
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) {
            fail(flag + " needs a value");
        }
        return args[i];
    }

    private static void usage() {
        System.out.println("usage: SimulatedMembersMain --topology demo|pair|single|FILE.json --dir DIR "
                + "[--running-delay 2s] [--ignore-stdin] "
                + "[--runtime none|ray --ray-bin VENV/bin [--worker-logs DIR] [--worker-env KEY=VALUE]...]");
    }

    private static void fail(String message) {
        System.err.println("error: " + message);
        usage();
        System.exit(2);
    }
}
