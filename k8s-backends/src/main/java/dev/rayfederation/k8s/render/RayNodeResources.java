package dev.rayfederation.k8s.render;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rayfederation.k8s.resources.ResourceNames;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.render.WorkerPodContract;
import dev.rayfederation.k8s.render.WorkerPodSpec;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a worker of a pool advertises to Ray: the one mapping from a pool's configuration to Ray resources
 * and Ray node labels. The worker's {@code ray start} flags ({@link RayStartCommand}) and the node type
 * the autoscaler plans with ({@code GET /v1/node-types}) are both derived from it, so they cannot disagree.
 *
 * <p>The rule, from what Ray accepts ({@code ray start --num-cpus/--num-gpus/--memory} take integers, a
 * raylet refuses any fractional resource, and the autoscaling config schema wants integers):
 * <ul>
 *   <li>{@code CPU}: the pod's CPU request rounded UP to whole CPUs ({@code 500m} → 1, {@code 1.5} → 2),
 *       as KubeRay does (Kubernetes' {@code Quantity.Value()} rounds up);</li>
 *   <li>{@code GPU}: the pod's GPU request (whole: Kubernetes cannot request part of a GPU; rounded up
 *       should a fraction get here);</li>
 *   <li>{@code memory}: the pod's memory request in bytes, rounded up to a whole byte
 *       ({@code 32Gi} → 34359738368, {@code 1500M} → 1500000000);</li>
 *   <li>custom resources ({@code rayResources}): as given, and each must be a whole number from 1 to
 *       {@value #MAX_QUANTITY_TEXT} (Ray's limit);</li>
 *   <li>Kubernetes extended resources (names with '/') are pod requests only: Ray does not see them.</li>
 * </ul>
 * A resource the pool does not ask for is zero: the worker is started with {@code --num-cpus=0},
 * {@code --num-gpus=0} and {@code --memory=0} rather than letting Ray detect the machine's (which the pod
 * was not given), and zeros are left out of {@link #resources()} as Ray leaves them out of a node's
 * resources. Ray adds resources of its own to every node ({@code node:<ip>}, {@code object_store_memory},
 * which it sizes itself); they are not part of this mapping.
 *
 * <p>Labels: {@code ray-federation.io/virtual-cluster}, then {@code ray-federation.io/member} (only known
 * once a worker is placed, so a pool's node type does not carry it), then the pool's labels sorted by key;
 * the pool cannot override the first two. Ray adds its own {@code ray.io/} labels to every node
 * ({@code ray.io/node-id}, and {@code ray.io/node-group}, {@code ray.io/availability-region},
 * {@code ray.io/availability-zone} from the pod's environment).
 *
 * @param cpus        whole CPUs ({@code --num-cpus})
 * @param gpus        whole GPUs ({@code --num-gpus})
 * @param memoryBytes bytes ({@code --memory})
 * @param custom      custom Ray resources, sorted by name ({@code --resources})
 * @param labels      Ray node labels in flag order ({@code --labels})
 */
public record RayNodeResources(long cpus, long gpus, long memoryBytes, Map<String, Long> custom,
                               Map<String, String> labels) {

    /** Ray's upper limit for any resource quantity ({@code ray_constants.MAX_RESOURCE_QUANTITY}). */
    public static final long MAX_QUANTITY = 100_000_000_000_000L;
    static final String MAX_QUANTITY_TEXT = "100000000000000";
    private static final ObjectMapper JSON = new ObjectMapper();

    public RayNodeResources {
        custom = Collections.unmodifiableMap(new TreeMap<>(custom));
        labels = Collections.unmodifiableMap(new LinkedHashMap<>(labels));
    }

    /**
     * A pool's node type: what every worker of the pool advertises (no member label).
     *
     * @param podResources   the per-worker pod resources (CPU, GPU, memory, extended names with '/'), milli-units
     * @param rayResources   the pool's custom Ray resources (may be null)
     * @param poolLabels     the pool's Ray labels (may be null)
     * @param virtualCluster the pool's virtual cluster
     * @throws IllegalArgumentException when a custom resource is not something Ray accepts (naming it)
     */
    public static RayNodeResources ofPool(ResourceVector podResources, Map<String, Double> rayResources,
                                          Map<String, String> poolLabels, String virtualCluster) {
        return of(podResources, rayResources, poolLabels, virtualCluster, null);
    }

    /** One placed worker: the pool's node type plus the member label. */
    public static RayNodeResources ofWorker(WorkerPodSpec spec) {
        return of(spec.resources(), spec.rayResources(), spec.labels(), spec.virtualCluster(), spec.member());
    }

    private static RayNodeResources of(ResourceVector podResources, Map<String, Double> rayResources,
                                       Map<String, String> poolLabels, String virtualCluster, String member) {
        ResourceVector r = podResources == null ? ResourceVector.EMPTY : podResources;
        Map<String, Long> custom = new TreeMap<>();
        if (rayResources != null) {
            rayResources.forEach((name, amount) -> custom.put(name, customAmount(name, amount)));
        }
        Map<String, String> labels = new LinkedHashMap<>();
        if (virtualCluster != null) {
            labels.put(WorkerPodContract.RAY_LABEL_VIRTUAL_CLUSTER, virtualCluster);
        }
        if (member != null) {
            labels.put(WorkerPodContract.RAY_LABEL_MEMBER, member);
        }
        if (poolLabels != null) {
            new TreeMap<>(poolLabels).forEach(labels::putIfAbsent);
        }
        return new RayNodeResources(wholeUnitsUp(r.get(ResourceNames.CPU)), wholeUnitsUp(r.get(ResourceNames.GPU)),
                wholeUnitsUp(r.get(ResourceNames.MEMORY)), custom, labels);
    }

    /**
     * The resources as Ray lists them for a node started with {@link #rayStartFlags()} (and as its node
     * type says): {@code CPU}, {@code GPU}, {@code memory} in bytes and the custom resources, sorted by
     * name, zeros left out.
     */
    public Map<String, Number> resources() {
        Map<String, Number> out = new TreeMap<>();
        putIfPositive(out, ResourceNames.CPU, cpus);
        putIfPositive(out, ResourceNames.GPU, gpus);
        putIfPositive(out, ResourceNames.MEMORY, memoryBytes);
        custom.forEach((k, v) -> putIfPositive(out, k, v));
        return out;
    }

    /**
     * The resource and label flags of {@code ray start}, unquoted: {@code --num-cpus=N --num-gpus=N
     * --memory=BYTES [--resources=JSON] --labels=JSON}. Labels are a JSON object: the only form every Ray we
     * support parses (ant-ray 2.44 knows no other; Ray 2.60 still accepts it, with a deprecation note in the log).
     */
    public List<String> rayStartFlags() {
        List<String> args = new ArrayList<>();
        args.add("--num-cpus=" + cpus);
        args.add("--num-gpus=" + gpus);
        args.add("--memory=" + memoryBytes);
        if (!custom.isEmpty()) {
            args.add("--resources=" + customJson());
        }
        args.add("--labels=" + labelsJson());
        return args;
    }

    /** The labels as a JSON object, in flag order. */
    String labelsJson() {
        try {
            return JSON.writeValueAsString(labels);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("labels are strings", e);
        }
    }

    /** The custom resources as compact JSON, sorted by name: {@code {"a":1,"b":2}}. */
    String customJson() {
        try {
            return JSON.writeValueAsString(custom);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write Ray resources as JSON", e);
        }
    }

    private static void putIfPositive(Map<String, Number> out, String key, long value) {
        if (value > 0) {
            out.put(key, value);
        }
    }

    private static long customAmount(String name, Double amount) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("rayResources: a custom Ray resource needs a name");
        }
        if (amount == null || amount.isNaN() || amount <= 0) {
            throw new IllegalArgumentException("rayResources." + name + ": must be > 0 (got " + amount + ")");
        }
        if (amount != Math.rint(amount)) {
            throw new IllegalArgumentException("rayResources." + name + ": must be a whole number (got " + amount
                    + "): Ray refuses fractional node resources");
        }
        if (amount > MAX_QUANTITY) {
            throw new IllegalArgumentException("rayResources." + name + ": must be at most " + MAX_QUANTITY_TEXT
                    + " (Ray's limit)");
        }
        return amount.longValue();
    }

    /** Milli-units to whole units, rounded up: 500 → 1, 1500 → 2, 2000 → 2. */
    static long wholeUnitsUp(long milli) {
        if (milli <= 0) {
            return 0;
        }
        return milli / 1000 + (milli % 1000 == 0 ? 0 : 1);
    }
}
