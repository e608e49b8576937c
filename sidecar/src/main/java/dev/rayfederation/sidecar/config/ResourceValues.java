package dev.rayfederation.sidecar.config;

import dev.rayfederation.k8s.resources.Quantities;
import dev.rayfederation.k8s.resources.ResourceVector;

import java.math.BigDecimal;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads the config's resource maps: a pool's per-worker {@code resources}, a virtual cluster's
 * {@code quota}, a member's {@code staticCapacity} and {@code price}. Keys are Ray's CPU, GPU and memory
 * or Kubernetes extended resource names (containing '/'); amounts are plain numbers or Kubernetes
 * quantities ("500m", "32Gi") and end up in milli-units.
 */
final class ResourceValues {

    /** Where a resource map is used: the rules for its amounts differ. */
    enum Use {
        /** pools[i].resources: Kubernetes requests, so GPUs and extended resources are whole numbers. */
        WORKER,
        /** virtualClusters[i].quota: a limit, so 0 is refused (it would read as "no limit" once stored). */
        QUOTA,
        /** clusters[i].staticCapacity. */
        CAPACITY
    }

    static final List<String> RAY_RESOURCES = List.of("CPU", "GPU", "memory");

    /** Below this, a memory amount is almost surely bytes written without a unit ("memory: 32"). */
    private static final long MIN_MEMORY_MILLI = (1L << 20) * 1000;

    private ResourceValues() {
    }

    /** The resources of the map at {@code map} (empty when absent); every bad key or amount is reported. */
    static ResourceVector read(ConfigNode map, Use use) {
        Map<String, Long> milli = new LinkedHashMap<>();
        for (Map.Entry<String, ConfigNode> e : map.entries()) {
            String resource = e.getKey();
            ConfigNode value = e.getValue();
            if (!checkResourceName(resource, value)) {
                continue;
            }
            Optional<Long> amount = amount(value);
            if (amount.isEmpty()) {
                continue;
            }
            long m = amount.get();
            if (m < 0) {
                value.problem("must be >= 0");
            } else if (use == Use.QUOTA && m == 0) {
                value.problem("must be > 0 (a quota of 0 cannot be stored; omit " + resource
                        + " for no limit, or keep it out of this virtual cluster's pools)");
            } else if (resource.equals("memory") && m > 0 && m < MIN_MEMORY_MILLI) {
                value.problem("must be at least 1Mi (got " + value.json().asText()
                        + " bytes; sizes are Kubernetes quantities such as 32Gi)");
            } else if (use == Use.WORKER && m % 1000 != 0 && (resource.equals("GPU") || resource.contains("/"))) {
                value.problem("must be a whole number (Kubernetes cannot request a fraction of "
                        + (resource.equals("GPU") ? "a GPU" : "an extended resource") + ")");
            } else {
                milli.put(resource, m);
            }
        }
        return new ResourceVector(milli);
    }

    /** Prices per unit-hour (memory per GiB-hour) by resource name; every price >= 0. */
    static Map<String, Double> prices(ConfigNode map) {
        Map<String, Double> prices = new LinkedHashMap<>();
        for (Map.Entry<String, ConfigNode> e : map.entries()) {
            if (!checkResourceName(e.getKey(), e.getValue())) {
                continue;
            }
            Optional<BigDecimal> price = e.getValue().number();
            if (price.isPresent()) {
                if (price.get().signum() < 0) {
                    e.getValue().problem("must be >= 0");
                } else {
                    prices.put(e.getKey(), price.get().doubleValue());
                }
            }
        }
        return Collections.unmodifiableMap(prices);
    }

    /** CPU, GPU, memory or an extended resource name; anything else is reported at {@code at}. */
    static boolean checkResourceName(String resource, ConfigNode at) {
        if (RAY_RESOURCES.contains(resource)) {
            return true;
        }
        if (resource.contains("/")) {
            Optional<String> problem = Names.checkExtendedResourceName(resource);
            problem.ifPresent(at::problem);
            return problem.isEmpty();
        }
        String hint = RAY_RESOURCES.stream()
                .filter(r -> r.equalsIgnoreCase(resource))
                .findFirst()
                .map(r -> " (did you mean " + r + "?)")
                .orElse("");
        at.problem("unknown resource: use CPU, GPU, memory or an extended resource name containing '/' such as "
                + "example.com/fpga" + hint);
        return false;
    }

    private static Optional<Long> amount(ConfigNode value) {
        String example = "a number or a Kubernetes quantity such as 8, 500m or 32Gi";
        try {
            if (value.json().isNumber()) {
                if (value.json().isDouble() && !Double.isFinite(value.json().doubleValue())) {
                    value.problem("must be a finite number");
                    return Optional.empty();
                }
                return Optional.of(Quantities.toMilli(value.json().numberValue()));
            }
            if (value.json().isTextual() && Quantities.isQuantity(value.json().textValue())) {
                return Optional.of(Quantities.toMilli(value.json().textValue()));
            }
        } catch (IllegalArgumentException e) {
            value.problem("is too large");
            return Optional.empty();
        }
        value.problem("must be " + example + ", not " + value.describeType());
        return Optional.empty();
    }
}
