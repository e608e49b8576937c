package dev.rayfederation.sim;

import io.fabric8.kubernetes.api.model.Quantity;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Amounts of Kubernetes resources ({@code cpu}, {@code memory}, {@code nvidia.com/gpu}, {@code pods}, ...) as exact
 * decimals: cores for cpu, bytes for memory, counts otherwise. Immutable.
 */
public record ResourceAmounts(Map<String, BigDecimal> amounts) {

    public static final ResourceAmounts NONE = new ResourceAmounts(Map.of());

    public ResourceAmounts {
        amounts = Map.copyOf(amounts);
    }

    /** From Kubernetes quantities (null-safe). */
    public static ResourceAmounts of(Map<String, Quantity> quantities) {
        if (quantities == null || quantities.isEmpty()) {
            return NONE;
        }
        Map<String, BigDecimal> m = new TreeMap<>();
        quantities.forEach((k, v) -> m.put(k, v.getNumericalAmount()));
        return new ResourceAmounts(m);
    }

    /** One resource, e.g. {@code ResourceAmounts.single("pods", 1)}. */
    public static ResourceAmounts single(String name, long amount) {
        return new ResourceAmounts(Map.of(name, BigDecimal.valueOf(amount)));
    }

    public BigDecimal get(String name) {
        return amounts.getOrDefault(name, BigDecimal.ZERO);
    }

    public ResourceAmounts plus(ResourceAmounts other) {
        Map<String, BigDecimal> m = new TreeMap<>(amounts);
        other.amounts.forEach((k, v) -> m.merge(k, v, BigDecimal::add));
        return new ResourceAmounts(m);
    }

    public ResourceAmounts minus(ResourceAmounts other) {
        Map<String, BigDecimal> m = new TreeMap<>(amounts);
        other.amounts.forEach((k, v) -> m.merge(k, v.negate(), BigDecimal::add));
        return new ResourceAmounts(m);
    }

    /** Per resource, the larger of the two amounts (how Kubernetes combines init containers with the rest). */
    public ResourceAmounts max(ResourceAmounts other) {
        Map<String, BigDecimal> m = new TreeMap<>(amounts);
        other.amounts.forEach((k, v) -> m.merge(k, v, BigDecimal::max));
        return new ResourceAmounts(m);
    }

    /** Names of the resources this request asks for (amount &gt; 0) that {@code free} does not have, sorted. */
    public List<String> insufficientIn(ResourceAmounts free) {
        List<String> out = new ArrayList<>();
        new TreeMap<>(amounts).forEach((k, v) -> {
            if (v.signum() > 0 && free.get(k).compareTo(v) < 0) {
                out.add(k);
            }
        });
        return out;
    }

    /** How many times this request fits in {@code free} (0 when a requested resource is missing). */
    public long timesIn(ResourceAmounts free) {
        long times = Long.MAX_VALUE;
        for (Map.Entry<String, BigDecimal> e : amounts.entrySet()) {
            if (e.getValue().signum() > 0) {
                BigDecimal have = free.get(e.getKey());
                times = Math.min(times, have.signum() <= 0 ? 0 : have.divideToIntegralValue(e.getValue()).longValue());
            }
        }
        return times;
    }
}
