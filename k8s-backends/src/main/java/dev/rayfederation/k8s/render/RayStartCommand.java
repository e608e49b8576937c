package dev.rayfederation.k8s.render;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rayfederation.k8s.resources.ResourceNames;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.render.WorkerPodContract;
import dev.rayfederation.k8s.render.WorkerPodSpec;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The {@code ray start} line of a worker (DESIGN §5):
 * {@code ray start --address=<head> --block --num-cpus=N --num-gpus=N --memory=BYTES --resources='{...}' --labels='k=v,...'}.
 * Flags whose value is absent (resource not requested, no custom resources) are left out. Ray's
 * {@code --num-cpus} and {@code --num-gpus} take integers: a fractional CPU or GPU is rounded up, as
 * KubeRay does. Ray labels always carry the virtual cluster and the member, then the pool's labels.
 */
public final class RayStartCommand {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_@%+=:,./-]+");

    private RayStartCommand() {
    }

    /** The arguments after {@code ray start}, unquoted (one list element per argument). */
    public static List<String> args(WorkerPodSpec spec) {
        List<String> args = new ArrayList<>();
        args.add("--address=" + spec.headAddress());
        args.add("--block");
        ResourceVector r = spec.resources() == null ? ResourceVector.EMPTY : spec.resources();
        if (r.get(ResourceNames.CPU) > 0) {
            args.add("--num-cpus=" + ceilUnits(r.get(ResourceNames.CPU)));
        }
        if (r.get(ResourceNames.GPU) > 0) {
            args.add("--num-gpus=" + ceilUnits(r.get(ResourceNames.GPU)));
        }
        if (r.get(ResourceNames.MEMORY) > 0) {
            args.add("--memory=" + r.get(ResourceNames.MEMORY) / 1000);
        }
        if (spec.rayResources() != null && !spec.rayResources().isEmpty()) {
            args.add("--resources=" + resourcesJson(spec.rayResources()));
        }
        args.add("--labels=" + labels(spec));
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
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(WorkerPodContract.RAY_LABEL_VIRTUAL_CLUSTER, spec.virtualCluster());
        labels.put(WorkerPodContract.RAY_LABEL_MEMBER, spec.member());
        if (spec.labels() != null) {
            new TreeMap<>(spec.labels()).forEach(labels::putIfAbsent);
        }
        return labels;
    }

    private static String labels(WorkerPodSpec spec) {
        List<String> pairs = new ArrayList<>();
        rayLabels(spec).forEach((k, v) -> pairs.add(k + "=" + v));
        return String.join(",", pairs);
    }

    private static String resourcesJson(Map<String, Double> resources) {
        Map<String, Number> sorted = new TreeMap<>();
        resources.forEach((k, v) -> sorted.put(k, plainNumber(v)));
        try {
            return JSON.writeValueAsString(sorted);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write Ray resources as JSON", e);
        }
    }

    /** 2.0 → 2, 0.5 → 0.5. */
    static Number plainNumber(Double v) {
        if (v == null) {
            return 0;
        }
        BigDecimal d = BigDecimal.valueOf(v).stripTrailingZeros();
        if (d.scale() <= 0 && d.abs().compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) < 0) {
            return d.longValueExact();
        }
        return v;
    }

    private static long ceilUnits(long milli) {
        return milli / 1000 + (milli % 1000 == 0 ? 0 : 1);
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
