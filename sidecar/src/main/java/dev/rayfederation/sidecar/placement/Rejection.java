package dev.rayfederation.sidecar.placement;

/**
 * How many workers of a create request were not created, and why.
 *
 * @param count   0 when all were created
 * @param reason  {@code quota} (virtual-cluster quota or pool maxWorkers), {@code infeasible} (no allowed member
 *                could ever fit one), {@code unavailable} (no room or no reachable member now); null when count is 0
 * @param message what a person needs to understand it (which limit, which members and why)
 */
public record Rejection(int count, String reason, String message) {

    public static final Rejection NONE = new Rejection(0, null, null);

    /** This rejection plus {@code more} workers that failed for {@code why} (the first reason stays). */
    public Rejection plus(int more, String fallbackReason, String why) {
        if (more == 0) {
            return this;
        }
        return count == 0 ? new Rejection(more, fallbackReason, why)
                : new Rejection(count + more, reason, message + "; " + why);
    }
}
