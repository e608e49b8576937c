package dev.rayfederation.sidecar.placement;

import dev.rayfederation.sidecar.config.FederationConfig.Strategy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decides how many of {@code n} new workers go to each candidate member (DESIGN §6). Pure and fast: no
 * I/O, no clocks; the caller supplies each member's room. Workers are first placed where they fit right
 * now, by the pool's strategy; whatever is left goes to elastic members (whose own node autoscaler can add
 * room), in the same strategy's order.
 *
 * <ul>
 *   <li>{@code priority}: fill the highest-priority member, spill over to the next.</li>
 *   <li>{@code spread}: proportional to each member's free room (largest remainder), so repeated small
 *       batches from the autoscaler land where the room is and spread as it fills.</li>
 *   <li>{@code most-free}: the whole batch to the member with the most free room, spill over in
 *       decreasing order of room.</li>
 *   <li>{@code cheapest}: the lowest price per worker first (members without a price last), spill over.</li>
 * </ul>
 */
public final class PlacementPlanner {

    private PlacementPlanner() {
    }

    /** Member → workers, only members that get at least one; the sum is at most {@code n}. */
    public static Map<String, Integer> plan(Strategy strategy, int n, List<Candidate> candidates) {
        Map<String, Integer> out = new LinkedHashMap<>();
        if (n <= 0 || candidates.isEmpty()) {
            return out;
        }
        List<Candidate> ordered = new ArrayList<>(candidates);
        ordered.sort(order(strategy));
        long left = n;
        if (strategy == Strategy.SPREAD) {
            left = spread(ordered, left, out);
        } else {
            for (Candidate c : ordered) {
                left = give(out, c.member(), Math.min(left, c.freeNow()), left);
            }
        }
        // overflow onto elastic members, which may grow past what fits now
        List<Candidate> elastic = ordered.stream().filter(Candidate::elastic).toList();
        if (left > 0 && !elastic.isEmpty()) {
            if (strategy == Strategy.SPREAD) {
                left = evenly(elastic, left, out);
            } else {
                for (Candidate c : elastic) {
                    long taken = out.getOrDefault(c.member(), 0);
                    left = give(out, c.member(), Math.min(left, c.room() - taken), left);
                }
            }
        }
        return out;
    }

    private static Comparator<Candidate> order(Strategy strategy) {
        Comparator<Candidate> byPriority = Comparator.comparingInt(Candidate::priority).reversed();
        Comparator<Candidate> byOrder = Comparator.comparingInt(Candidate::order);
        switch (strategy) {
            case PRIORITY:
                return byPriority.thenComparing(byOrder);
            case CHEAPEST:
                return Comparator.comparing((Candidate c) -> c.pricePerWorker() == null)
                        .thenComparing(c -> c.pricePerWorker() == null ? 0.0 : c.pricePerWorker())
                        .thenComparing(byPriority).thenComparing(byOrder);
            case MOST_FREE:
            case SPREAD:
            default:
                return Comparator.comparingLong(Candidate::freeNow).reversed()
                        .thenComparing(byPriority).thenComparing(byOrder);
        }
    }

    /** Largest-remainder apportionment of {@code n} over the members' free room; returns what is left. */
    private static long spread(List<Candidate> ordered, long n, Map<String, Integer> out) {
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
            left = give(out, ordered.get(i).member(), share[i], left);
        }
        return left;
    }

    /** Round-robin over elastic members up to their room; returns what is left. */
    private static long evenly(List<Candidate> elastic, long n, Map<String, Integer> out) {
        long left = n;
        boolean progress = true;
        while (left > 0 && progress) {
            progress = false;
            for (Candidate c : elastic) {
                if (left == 0) {
                    break;
                }
                if (out.getOrDefault(c.member(), 0) < c.room()) {
                    left = give(out, c.member(), 1, left);
                    progress = true;
                }
            }
        }
        return left;
    }

    private static long give(Map<String, Integer> out, String member, long k, long left) {
        if (k <= 0) {
            return left;
        }
        out.merge(member, (int) k, Integer::sum);
        return left - k;
    }
}
