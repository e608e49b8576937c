package dev.rayfederation.k8s.capacity;

import dev.rayfederation.k8s.resources.ResourceNames;
import dev.rayfederation.k8s.resources.ResourceVector;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a pod asks the scheduler for, computed as Kubernetes does: the sum of its containers' requests
 * (a limit stands in for a missing request) plus restartable init containers ("sidecars"), or the largest
 * init container step if that is more, per resource; plus the pod overhead. Keyed by Ray names.
 */
public final class PodRequests {

    private PodRequests() {
    }

    /** Effective requests of a pod; an absent spec asks for nothing. */
    public static ResourceVector of(Pod pod, String gpuResourceName) {
        return pod == null ? ResourceVector.EMPTY : of(pod.getSpec(), gpuResourceName);
    }

    /** Effective requests of a pod spec; an absent spec asks for nothing. */
    public static ResourceVector of(PodSpec spec, String gpuResourceName) {
        if (spec == null) {
            return ResourceVector.EMPTY;
        }
        ResourceVector containers = ResourceVector.EMPTY;
        for (Container c : nullToEmpty(spec.getContainers())) {
            containers = containers.plus(requests(c, gpuResourceName));
        }
        ResourceVector sidecars = ResourceVector.EMPTY;
        ResourceVector initPeak = ResourceVector.EMPTY;
        for (Container c : nullToEmpty(spec.getInitContainers())) {
            ResourceVector r = requests(c, gpuResourceName);
            if ("Always".equals(c.getRestartPolicy())) {
                sidecars = sidecars.plus(r);
                initPeak = max(initPeak, sidecars);
            } else {
                initPeak = max(initPeak, sidecars.plus(r));
            }
        }
        ResourceVector effective = max(containers.plus(sidecars), initPeak);
        if (spec.getOverhead() != null) {
            effective = effective.plus(ResourceNames.toRay(spec.getOverhead(), gpuResourceName));
        }
        return effective;
    }

    /** One container's requests; a resource with only a limit is requested at its limit (the API server's default). */
    static ResourceVector requests(Container c, String gpuResourceName) {
        ResourceRequirements rr = c.getResources();
        if (rr == null) {
            return ResourceVector.EMPTY;
        }
        Map<String, Quantity> merged = new HashMap<>();
        if (rr.getLimits() != null) {
            merged.putAll(rr.getLimits());
        }
        if (rr.getRequests() != null) {
            merged.putAll(rr.getRequests());
        }
        return ResourceNames.toRay(merged, gpuResourceName);
    }

    static ResourceVector max(ResourceVector a, ResourceVector b) {
        TreeMap<String, Long> m = new TreeMap<>(a.milli());
        b.milli().forEach((k, v) -> m.merge(k, v, Math::max));
        return new ResourceVector(m);
    }

    private static <T> List<T> nullToEmpty(List<T> list) {
        return list == null ? List.of() : list;
    }
}
