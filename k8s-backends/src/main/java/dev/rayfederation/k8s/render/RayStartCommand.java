package dev.rayfederation.k8s.render;

import dev.rayfederation.k8s.render.WorkerPodSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The {@code ray start} line of a worker:
 * {@code ray start --address=<head> --block --num-cpus=N --num-gpus=N --memory=BYTES [--resources='{...}'] --labels='{"k":"v",...}'}.
 * The resource and label flags come from {@link RayNodeResources}, the one mapping from a pool's
 * configuration to what its workers advertise to Ray (read its rule there: CPU rounded up to whole CPUs,
 * memory in bytes rounded up, custom resources as given, absent resources passed as 0).
 */
public final class RayStartCommand {

    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_@%+=:,./-]+");

    private RayStartCommand() {
    }

    /** The arguments after {@code ray start}, unquoted (one list element per argument). */
    public static List<String> args(WorkerPodSpec spec) {
        List<String> args = new ArrayList<>();
        args.add("--address=" + spec.headAddress());
        args.add("--block");
        args.addAll(RayNodeResources.ofWorker(spec).rayStartFlags());
        return args;
    }

    /** {@code ray start} followed by the shell-quoted {@link #args}: a line for {@code bash -c}. */
    public static String shellLine(WorkerPodSpec spec) {
        return "ray start " + quoted(args(spec));
    }

    /** Arguments joined by spaces, each quoted for a POSIX shell when it needs it. */
    public static String quoted(List<String> args) {
        List<String> out = new ArrayList<>(args.size());
        for (String a : args) {
            out.add(quoteArg(a));
        }
        return String.join(" ", out);
    }

    /** Ray node labels: virtual cluster and member first, then the pool's labels sorted by key. */
    public static Map<String, String> rayLabels(WorkerPodSpec spec) {
        return RayNodeResources.ofWorker(spec).labels();
    }

    /** {@code --flag=value} with the value single-quoted when needed; other arguments quoted whole. */
    static String quoteArg(String arg) {
        if (SAFE.matcher(arg).matches()) {
            return arg;
        }
        int eq = arg.indexOf('=');
        if (arg.startsWith("--") && eq > 2 && SAFE.matcher(arg.substring(0, eq)).matches()) {
            return arg.substring(0, eq + 1) + singleQuoted(arg.substring(eq + 1));
        }
        return singleQuoted(arg);
    }

    private static String singleQuoted(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }
}
