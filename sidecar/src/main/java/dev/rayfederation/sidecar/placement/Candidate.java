package dev.rayfederation.sidecar.placement;

/**
 * One member cluster as placement sees it for one pool, at one instant.
 *
 * @param member         member name
 * @param freeNow        workers of the pool's shape that fit on its nodes right now (per-node fit), NOT capped by
 *                       the request, so strategies can compare members by their true room
 * @param room           workers it may take in total: freeNow for a fixed-size member; for an elastic member
 *                       up to its staticCapacity cap ({@link Long#MAX_VALUE} when uncapped)
 * @param priority       higher is tried first by strategy priority (and breaks ties elsewhere)
 * @param pricePerWorker hourly price of one worker on it, or null when unknown
 * @param order          position in the config (last tie-breaker, so plans are deterministic)
 * @param poolWorkers    live workers of this pool it already holds (for strategy pack)
 */
public record Candidate(String member, long freeNow, long room, int priority, Double pricePerWorker, int order,
                        long poolWorkers) {

    public Candidate {
        if (freeNow < 0 || room < 0 || poolWorkers < 0) {
            throw new IllegalArgumentException("negative room for " + member);
        }
        freeNow = Math.min(freeNow, room);
    }

    public Candidate(String member, long freeNow, long room, int priority, Double pricePerWorker, int order) {
        this(member, freeNow, room, priority, pricePerWorker, order, 0);
    }

    public boolean elastic() {
        return room > freeNow;
    }
}
