package dev.rayfederation.sim;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * Command line: starts simulated members and their kubelet, writes kubeconfigs and {@code members.json} into a
 * directory, prints {@code READY <path to members.json>} and runs until standard input closes or the process gets
 * SIGTERM/SIGINT.
 *
 * <pre>
 * java -jar tests/target/ray-federation-sim-all.jar --topology demo --dir /tmp/sim [--running-delay 2s] [--ignore-stdin]
 * </pre>
 */
public final class SimulatedMembersMain {

    private SimulatedMembersMain() {
    }

    public static void main(String[] args) throws Exception {
        String topology = "demo";
        Path dir = null;
        Duration delay = Duration.ZERO;
        boolean watchStdin = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--topology" -> topology = value(args, ++i, "--topology");
                case "--dir" -> dir = Path.of(value(args, ++i, "--dir"));
                case "--running-delay" -> delay = DurationArg.parse(value(args, ++i, "--running-delay"), "--running-delay");
                case "--ignore-stdin" -> watchStdin = false;
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
        List<MemberSpec> specs = Topologies.byName(topology);
        SimulatedMembers members = SimulatedMembers.start(specs, dir,
                SimulatedKubelet.Options.defaults().withRunningDelay(delay));
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            members.close();
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
                + "[--running-delay 2s] [--ignore-stdin]");
    }

    private static void fail(String message) {
        System.err.println("error: " + message);
        usage();
        System.exit(2);
    }
}
