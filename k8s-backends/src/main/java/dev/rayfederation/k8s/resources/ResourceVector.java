package dev.rayfederation.k8s.resources;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * An amount of each resource, keyed by Ray's resource names ({@code CPU}, {@code GPU}, {@code memory})
 * or a Kubernetes extended resource name (one that contains a '/'), every value in milli-units
 * (CPU 0.5 = 500, memory 1Gi = 1073741824000). Arithmetic saturates instead of overflowing.
 * Immutable; absent keys are zero.
 */
public record ResourceVector(Map<String, Long> milli) {

    public static final ResourceVector EMPTY = new ResourceVector(Map.of());

    public ResourceVector {
        TreeMap<String, Long> copy = new TreeMap<>();
        milli.forEach((k, v) -> {
            if (v != null && v != 0) {
                copy.put(k, v);
            }
        });
        milli = Collections.unmodifiableMap(copy);
    }

    /** Parses each value as a Kubernetes quantity ("8", "500m", "32Gi"). */
    public static ResourceVector ofQuantities(Map<String, String> quantities) {
        TreeMap<String, Long> m = new TreeMap<>();
        quantities.forEach((k, v) -> m.put(k, Quantities.toMilli(v)));
        return new ResourceVector(m);
    }

    public long get(String resource) {
        return milli.getOrDefault(resource, 0L);
    }

    public boolean isEmpty() {
        return milli.isEmpty();
    }

    public ResourceVector plus(ResourceVector other) {
        TreeMap<String, Long> m = new TreeMap<>(milli);
        other.milli.forEach((k, v) -> m.merge(k, v, ResourceVector::saturatingAdd));
        return new ResourceVector(m);
    }

    public ResourceVector minus(ResourceVector other) {
        TreeMap<String, Long> m = new TreeMap<>(milli);
        other.milli.forEach((k, v) -> m.merge(k, -v, ResourceVector::saturatingAdd));
        return new ResourceVector(m);
    }

    public ResourceVector times(long n) {
        TreeMap<String, Long> m = new TreeMap<>();
        milli.forEach((k, v) -> m.put(k, saturatingMultiply(v, n)));
        return new ResourceVector(m);
    }

    /** True when every resource of {@code shape} is available here (absent here = zero). */
    public boolean covers(ResourceVector shape) {
        for (Map.Entry<String, Long> e : shape.milli.entrySet()) {
            if (e.getValue() > 0 && get(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    /**
     * How many copies of {@code shape} fit in this vector: the minimum over the shape's resources.
     * A shape that asks for nothing fits {@link Long#MAX_VALUE} times.
     */
    public long howMany(ResourceVector shape) {
        long n = Long.MAX_VALUE;
        for (Map.Entry<String, Long> e : shape.milli.entrySet()) {
            long need = e.getValue();
            if (need <= 0) {
                continue;
            }
            long have = get(e.getKey());
            if (have < need) {
                return 0;
            }
            n = Math.min(n, have / need);
        }
        return n;
    }

    /** Values as Kubernetes-style quantity strings (for display and JSON). */
    public Map<String, String> toQuantities() {
        TreeMap<String, String> m = new TreeMap<>();
        milli.forEach((k, v) -> m.put(k, Quantities.fromMilli(v)));
        return m;
    }

    /** Values as plain numbers in whole units (Ray's view: memory in bytes), fractions kept. */
    public Map<String, Number> toUnits() {
        TreeMap<String, Number> m = new TreeMap<>();
        milli.forEach((k, v) -> m.put(k, v % 1000 == 0 ? (Number) (v / 1000) : (Number) (v / 1000.0)));
        return m;
    }

    static long saturatingAdd(long a, long b) {
        long r = a + b;
        if (((a ^ r) & (b ^ r)) < 0) {
            return a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
        return r;
    }

    static long saturatingMultiply(long a, long b) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        if ((hi == 0 && lo >= 0) || (hi == -1 && lo < 0)) {
            return lo;
        }
        return (a < 0) == (b < 0) ? Long.MAX_VALUE : Long.MIN_VALUE;
    }

    @Override
    public String toString() {
        return toQuantities().toString();
    }
}
