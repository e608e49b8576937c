package dev.rayfederation.sidecar.placement.strategy;

import dev.rayfederation.sidecar.placement.Candidate;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;

/** The building blocks strategies share: ordering and filling members one after another. */
final class Fill {

    private Fill() {
    }

    static final Comparator<Candidate> BY_PRIORITY = Comparator.comparingInt(Candidate::priority).reversed();
    static final Comparator<Candidate> BY_CONFIG_ORDER = Comparator.comparingInt(Candidate::order);
    static final Comparator<Candidate> BY_FREE_ROOM = Comparator.comparingLong(Candidate::freeNow).reversed();

    static List<Candidate> sorted(List<Candidate> candidates, Comparator<Candidate> order) {
        List<Candidate> out = new ArrayList<>(candidates);
        out.sort(order);
        return out;
    }

    /** Fills each candidate up to {@code limit} (minus what it already has in {@code out}), in list order. */
    static long inOrder(long n, List<Candidate> ordered, ToLongFunction<Candidate> limit, Map<String, Integer> out) {
        long left = n;
        for (Candidate c : ordered) {
            long taken = out.getOrDefault(c.member(), 0);
            left = give(out, c.member(), Math.min(left, limit.applyAsLong(c) - taken), left);
        }
        return left;
    }

    static long give(Map<String, Integer> out, String member, long k, long left) {
        if (k <= 0) {
            return left;
        }
        out.merge(member, (int) k, Integer::sum);
        return left - k;
    }
}
