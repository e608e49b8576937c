package dev.rayfederation.sim;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One Kubernetes Node seeded into a {@link SimulatedMember}.
 *
 * @param name          node name, unique in the member
 * @param labels        node labels (the member adds hostname, region and zone labels when absent)
 * @param taints        node taints
 * @param allocatable   Kubernetes resource name → quantity ({@code cpu}, {@code memory}, {@code nvidia.com/gpu},
 *                      {@code pods}); capacity is the same
 * @param ready         condition Ready is True
 * @param unschedulable cordoned ({@code spec.unschedulable})
 */
public record NodeSpec(String name, Map<String, String> labels, List<Taint> taints, Map<String, String> allocatable,
                       boolean ready, boolean unschedulable) {

    /** Pods per node when the spec does not say. */
    public static final String DEFAULT_MAX_PODS = "110";

    public NodeSpec {
        Objects.requireNonNull(name, "name");
        labels = Map.copyOf(labels);
        taints = List.copyOf(taints);
        Map<String, String> resources = new LinkedHashMap<>(allocatable);
        resources.putIfAbsent("pods", DEFAULT_MAX_PODS);
        allocatable = Map.copyOf(resources);
    }

    /** A Ready, schedulable node with {@code cpu} cores and {@code memory} (a quantity such as "64Gi"). */
    public static NodeSpec of(String name, int cpu, String memory) {
        return new NodeSpec(name, Map.of(), List.of(), Map.of("cpu", Integer.toString(cpu), "memory", memory), true, false);
    }

    public NodeSpec withLabel(String key, String value) {
        Map<String, String> l = new LinkedHashMap<>(labels);
        l.put(key, value);
        return new NodeSpec(name, l, taints, allocatable, ready, unschedulable);
    }

    public NodeSpec withTaint(String key, String value, String effect) {
        List<Taint> t = new java.util.ArrayList<>(taints);
        t.add(new Taint(key, value, effect));
        return new NodeSpec(name, labels, t, allocatable, ready, unschedulable);
    }

    /** Adds (or replaces) an allocatable resource, e.g. {@code ("nvidia.com/gpu", "4")}. */
    public NodeSpec withResource(String resource, String quantity) {
        Map<String, String> a = new LinkedHashMap<>(allocatable);
        a.put(resource, quantity);
        return new NodeSpec(name, labels, taints, a, ready, unschedulable);
    }

    /** {@code count} NVIDIA GPUs ({@code nvidia.com/gpu}). */
    public NodeSpec withGpus(int count) {
        return withResource("nvidia.com/gpu", Integer.toString(count));
    }

    public NodeSpec withReady(boolean value) {
        return new NodeSpec(name, labels, taints, allocatable, value, unschedulable);
    }

    public NodeSpec withUnschedulable(boolean value) {
        return new NodeSpec(name, labels, taints, allocatable, ready, value);
    }

    /** A node taint; effect is NoSchedule, PreferNoSchedule or NoExecute. */
    public record Taint(String key, String value, String effect) {
        public Taint {
            Objects.requireNonNull(key, "taint key");
            Objects.requireNonNull(effect, "taint effect");
        }
    }
}
