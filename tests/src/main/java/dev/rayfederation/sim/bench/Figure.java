package dev.rayfederation.sim.bench;

import java.util.List;

/**
 * One measured figure as the benchmark report takes it: one value per run (the report shows their median, min and
 * max), the unit, and the target it is held against, if any.
 *
 * @param id       stable identifier, e.g. {@code nodes.get200.cached.p99.n10000}
 * @param title    what was measured, for people
 * @param unit     ms, s, MiB, pods/s, requests, count, ratio
 * @param runs     one value per run
 * @param targetOp {@code <=} or {@code >=}, or null when the figure has no target
 * @param target   the target value, or null
 * @param notes    how it was measured, in a sentence; may be null
 */
public record Figure(String id, String title, String unit, List<Double> runs, String targetOp, Double target, String notes) {

    public Figure {
        runs = List.copyOf(runs);
        if ((targetOp == null) != (target == null)) {
            throw new IllegalArgumentException("figure " + id + ": targetOp and target go together");
        }
    }

    /** A figure without a target. */
    public static Figure of(String id, String title, String unit, List<Double> runs, String notes) {
        return new Figure(id, title, unit, runs, null, null, notes);
    }

    /** A figure whose median must be at most {@code target}. */
    public static Figure atMost(String id, String title, String unit, List<Double> runs, double target, String notes) {
        return new Figure(id, title, unit, runs, "<=", target, notes);
    }

    /** A figure whose median must be at least {@code target}. */
    public static Figure atLeast(String id, String title, String unit, List<Double> runs, double target, String notes) {
        return new Figure(id, title, unit, runs, ">=", target, notes);
    }
}
