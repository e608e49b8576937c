package dev.rayfederation.sidecar.placement.strategy;

import dev.rayfederation.sidecar.placement.Candidate;

import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * {@code spread} (the default): new workers in proportion to each member's free room for the pool's shape
 * (largest-remainder apportionment), so workers land where the room is and spread as it fills. Because each
 * member's true room is seen, one-worker requests (autoscaler v2) spread too: each goes to the member with the
 * largest share left. Elastic overflow goes round-robin.
 */
final class SpreadStrategy implements PlacementStrategy {

    private static final Comparator<Candidate> ORDER =
            Fill.BY_FREE_ROOM.thenComparing(Fill.BY_PRIORITY).thenComparing(Fill.BY_CONFIG_ORDER);

    @Override
    public String name() {
        return "spread";
    }

    @Override
    public String description() {
        return "in proportion to each member's free room (default)";
    }

    @Override
    public Comparator<Candidate> order() {
        return ORDER;
    }

    @Override
    public long placeNow(long n, List<Candidate> candidates, Map<String, Integer> out) {
        List<Candidate> ordered = Fill.sorted(candidates, ORDER);
        long totalFree = 0;
        for (Candidate c : ordered) {
            totalFree = Math.min(Long.MAX_VALUE / 2, totalFree + c.freeNow());
        }
        if (totalFree == 0) {
            return n;
        }
        long target = Math.min(n, totalFree);
        long[] share = new long[ordered.size()];
        double[] remainder = new double[ordered.size()];
        long given = 0;
        for (int i = 0; i < ordered.size(); i++) {
            double exact = (double) target * ordered.get(i).freeNow() / totalFree;
            share[i] = Math.min((long) Math.floor(exact), ordered.get(i).freeNow());
            remainder[i] = exact - share[i];
            given += share[i];
        }
        while (given < target) {
            int best = -1;
            for (int i = 0; i < share.length; i++) {
                if (share[i] < ordered.get(i).freeNow() && (best < 0 || remainder[i] > remainder[best])) {
                    best = i;
                }
            }
            if (best < 0) {
                break;
            }
            share[best]++;
            remainder[best] = -1;
            given++;
        }
        long left = n;
        for (int i = 0; i < share.length; i++) {
            left = Fill.give(out, ordered.get(i).member(), share[i], left);
        }
        return left;
    }

    @Override
    public long placeElastic(long n, List<Candidate> elastic, Map<String, Integer> out) {
        List<Candidate> ordered = Fill.sorted(elastic, ORDER);
        long left = n;
        boolean progress = true;
        while (left > 0 && progress) {
            progress = false;
            for (Candidate c : ordered) {
                if (left == 0) {
                    break;
                }
                if (out.getOrDefault(c.member(), 0) < c.room()) {
                    left = Fill.give(out, c.member(), 1, left);
                    progress = true;
                }
            }
        }
        return left;
    }
}
