package dev.rayfederation.sim.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Durations of repeated calls within one run, in nanoseconds, and their percentiles in milliseconds. */
public final class Latencies {

    private final List<Long> nanos = new ArrayList<>();

    public void add(long durationNanos) {
        nanos.add(durationNanos);
    }

    public int count() {
        return nanos.size();
    }

    /** The {@code p}-th percentile (0..100, nearest rank) in milliseconds. */
    public double percentileMillis(double p) {
        if (nanos.isEmpty()) {
            throw new IllegalStateException("no samples");
        }
        List<Long> sorted = new ArrayList<>(nanos);
        Collections.sort(sorted);
        int rank = (int) Math.ceil(p / 100.0 * sorted.size());
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1))) / 1e6;
    }
}
