package dev.rayfederation.k8s.resilience;

/**
 * Hears every call a member sent to its API server (for latency and error metrics). Called on the member's
 * I/O threads: keep it short. Calls refused before anything was sent (open breaker, full bulkhead, rate
 * limit) are not reported here; breaker metrics cover those.
 */
@FunctionalInterface
public interface MemberCallObserver {

    /**
     * @param member    member name
     * @param operation a bounded operation name: create_pod, delete_pod, patch_pod, version, access_check, other
     * @param nanos     how long the attempt took
     * @param outcome   ok, rejected (a 4xx caused by our request), failure (no answer, 408, 429, 5xx)
     */
    void called(String member, String operation, long nanos, String outcome);

    /** The bounded operation name of a guard operation description such as "create pod NAME". */
    static String operation(String op) {
        if (op.startsWith("create pod")) {
            return "create_pod";
        }
        if (op.startsWith("delete pod")) {
            return "delete_pod";
        }
        if (op.startsWith("update tags")) {
            return "patch_pod";
        }
        if (op.startsWith("get version")) {
            return "version";
        }
        if (op.startsWith("list")) {
            return "access_check";
        }
        return "other";
    }
}
