package dev.rayfederation.k8s.resources;

import io.fabric8.kubernetes.api.model.Quantity;

import java.util.Map;
import java.util.TreeMap;

/**
 * Translation between Ray's resource names and Kubernetes resource names: {@code CPU ↔ cpu},
 * {@code memory ↔ memory}, {@code GPU ↔ <gpuResourceName>} (default {@value #DEFAULT_GPU_RESOURCE}); every
 * other name is used as-is in both directions.
 */
public final class ResourceNames {

    public static final String CPU = "CPU";
    public static final String GPU = "GPU";
    public static final String MEMORY = "memory";
    /** Kubernetes' count of pods a node may hold; used for per-node fit, never a Ray resource. */
    public static final String PODS = "pods";
    public static final String DEFAULT_GPU_RESOURCE = "nvidia.com/gpu";

    private ResourceNames() {
    }

    /** The GPU resource name to use: {@code gpuResourceName}, or {@value #DEFAULT_GPU_RESOURCE} when null or blank. */
    public static String gpuOrDefault(String gpuResourceName) {
        return gpuResourceName == null || gpuResourceName.isBlank() ? DEFAULT_GPU_RESOURCE : gpuResourceName;
    }

    /** Ray's name for a Kubernetes resource: cpu → CPU, the GPU resource → GPU, anything else unchanged. */
    public static String toRay(String kubernetesName, String gpuResourceName) {
        if ("cpu".equals(kubernetesName)) {
            return CPU;
        }
        if (gpuOrDefault(gpuResourceName).equals(kubernetesName)) {
            return GPU;
        }
        return kubernetesName;
    }

    /**
     * The Kubernetes name for one of our resource names, or null when it is not something a pod can request:
     * CPU → cpu, memory → memory, GPU → the GPU resource, extended names (with a '/'), {@code ephemeral-storage}
     * and {@code hugepages-*} unchanged.
     */
    public static String toKubernetes(String rayName, String gpuResourceName) {
        switch (rayName) {
            case CPU:
                return "cpu";
            case MEMORY:
                return "memory";
            case GPU:
                return gpuOrDefault(gpuResourceName);
            default:
                if (rayName.contains("/") || rayName.equals("ephemeral-storage") || rayName.startsWith("hugepages-")) {
                    return rayName;
                }
                return null;
        }
    }

    /** Milli-units of a fabric8 quantity; malformed quantities count as zero (never fail a capacity view). */
    public static long milli(Quantity quantity) {
        if (quantity == null || quantity.getAmount() == null) {
            return 0;
        }
        String text = quantity.getAmount() + (quantity.getFormat() == null ? "" : quantity.getFormat());
        try {
            return Quantities.toMilli(text);
        } catch (IllegalArgumentException e) {
            return 0;
        }
    }

    /** A Kubernetes resource list (allocatable, requests...) as a vector keyed by Ray names. */
    public static ResourceVector toRay(Map<String, Quantity> kubernetes, String gpuResourceName) {
        if (kubernetes == null || kubernetes.isEmpty()) {
            return ResourceVector.EMPTY;
        }
        TreeMap<String, Long> m = new TreeMap<>();
        kubernetes.forEach((k, v) -> m.merge(toRay(k, gpuResourceName), milli(v), ResourceVector::saturatingAdd));
        return new ResourceVector(m);
    }
}
