package dev.rayfederation.sidecar.provision;

import java.time.Duration;

/**
 * When a worker that does not come up is moved to another member (DESIGN §6).
 *
 * @param unschedulableGrace  how long a pod may stay Unschedulable on a non-elastic member (default 30s)
 * @param startTimeout        how long a pod may take to be Running and Ready on a non-elastic member (default 5m)
 * @param elasticStartTimeout the same for elastic members, whose node autoscaler may need to add a node (default 15m)
 * @param creatingTimeout     how long a placed worker may wait for its pod to be created (default 2m)
 * @param backoffInitial      first back-off of a (member, pool) pair after such a failure (default 30s)
 * @param backoffMax          the back-off doubles up to this (default 10m)
 * @param checkInterval       how often workers are checked (default 2s)
 */
public record ReplacementPolicy(
        Duration unschedulableGrace,
        Duration startTimeout,
        Duration elasticStartTimeout,
        Duration creatingTimeout,
        Duration backoffInitial,
        Duration backoffMax,
        Duration checkInterval) {

    public static ReplacementPolicy defaults() {
        return new ReplacementPolicy(Duration.ofSeconds(30), Duration.ofMinutes(5), Duration.ofMinutes(15),
                Duration.ofMinutes(2), Duration.ofSeconds(30), Duration.ofMinutes(10), Duration.ofSeconds(2));
    }
}
