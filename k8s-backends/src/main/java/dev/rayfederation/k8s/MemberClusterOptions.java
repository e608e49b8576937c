package dev.rayfederation.k8s;

import java.time.Duration;

/**
 * How a {@link MemberCluster} behaves; null or non-positive values take the defaults.
 *
 * @param rayClusterName   rayCluster.name: selects our worker pods (required)
 * @param startTimeout     how long {@link MemberCluster#start()} waits for the informers to sync (default 10s)
 * @param retryInterval    pause between connection attempts while unreachable at start (default 15s)
 * @param workerThreads    threads of the member's API call pool "member-NAME-io" (default 4)
 * @param requestTimeout   timeout of one API request (default 10s)
 * @param gpuResourceName  Kubernetes resource name of Ray's GPU (default nvidia.com/gpu)
 * @param requestRetries   fabric8's own retries of a failed request, with backoff (default 1; 0 shows faults at once)
 * @param unreachableAfter how long a synced member may have no working watch before it is UNREACHABLE (default 5s)
 */
public record MemberClusterOptions(
        String rayClusterName,
        Duration startTimeout,
        Duration retryInterval,
        int workerThreads,
        Duration requestTimeout,
        String gpuResourceName,
        int requestRetries,
        Duration unreachableAfter) {

    public static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_RETRY_INTERVAL = Duration.ofSeconds(15);
    public static final int DEFAULT_WORKER_THREADS = 4;
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(10);
    public static final int DEFAULT_REQUEST_RETRIES = 1;
    public static final Duration DEFAULT_UNREACHABLE_AFTER = Duration.ofSeconds(5);

    public MemberClusterOptions {
        if (rayClusterName == null || rayClusterName.isBlank()) {
            throw new IllegalArgumentException("MemberClusterOptions.rayClusterName: is required");
        }
        startTimeout = positiveOr(startTimeout, DEFAULT_START_TIMEOUT);
        retryInterval = positiveOr(retryInterval, DEFAULT_RETRY_INTERVAL);
        workerThreads = workerThreads > 0 ? workerThreads : DEFAULT_WORKER_THREADS;
        requestTimeout = positiveOr(requestTimeout, DEFAULT_REQUEST_TIMEOUT);
        gpuResourceName = ResourceNames.gpuOrDefault(gpuResourceName);
        requestRetries = Math.max(0, requestRetries);
        unreachableAfter = positiveOr(unreachableAfter, DEFAULT_UNREACHABLE_AFTER);
    }

    /** The six settings of the brief; client retries and the unreachable threshold take their defaults. */
    public MemberClusterOptions(String rayClusterName, Duration startTimeout, Duration retryInterval, int workerThreads,
                                Duration requestTimeout, String gpuResourceName) {
        this(rayClusterName, startTimeout, retryInterval, workerThreads, requestTimeout, gpuResourceName,
                DEFAULT_REQUEST_RETRIES, DEFAULT_UNREACHABLE_AFTER);
    }

    /** Every setting at its default. */
    public static MemberClusterOptions defaults(String rayClusterName) {
        return new MemberClusterOptions(rayClusterName, null, null, 0, null, null);
    }

    public MemberClusterOptions withStartTimeout(Duration d) {
        return new MemberClusterOptions(rayClusterName, d, retryInterval, workerThreads, requestTimeout, gpuResourceName, requestRetries, unreachableAfter);
    }

    public MemberClusterOptions withRetryInterval(Duration d) {
        return new MemberClusterOptions(rayClusterName, startTimeout, d, workerThreads, requestTimeout, gpuResourceName, requestRetries, unreachableAfter);
    }

    public MemberClusterOptions withRequestTimeout(Duration d) {
        return new MemberClusterOptions(rayClusterName, startTimeout, retryInterval, workerThreads, d, gpuResourceName, requestRetries, unreachableAfter);
    }

    public MemberClusterOptions withGpuResourceName(String name) {
        return new MemberClusterOptions(rayClusterName, startTimeout, retryInterval, workerThreads, requestTimeout, name, requestRetries, unreachableAfter);
    }

    public MemberClusterOptions withRequestRetries(int retries) {
        return new MemberClusterOptions(rayClusterName, startTimeout, retryInterval, workerThreads, requestTimeout, gpuResourceName, retries, unreachableAfter);
    }

    public MemberClusterOptions withUnreachableAfter(Duration d) {
        return new MemberClusterOptions(rayClusterName, startTimeout, retryInterval, workerThreads, requestTimeout, gpuResourceName, requestRetries, d);
    }

    private static Duration positiveOr(Duration d, Duration fallback) {
        return d == null || d.isZero() || d.isNegative() ? fallback : d;
    }
}
