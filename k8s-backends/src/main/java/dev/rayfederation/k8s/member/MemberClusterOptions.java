package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.resilience.ResilienceOptions;
import dev.rayfederation.k8s.resources.ResourceNames;

import java.time.Duration;

/**
 * How a {@link MemberCluster} behaves; null or non-positive values take the defaults.
 *
 * @param rayClusterName   rayCluster.name: selects our worker pods (required)
 * @param startTimeout     how long {@link MemberCluster#start()} waits for the informers to sync (default 10s)
 * @param retryInterval    pause between connection attempts while unreachable at start (default 15s)
 * @param workerThreads    no longer used: the bulkhead of {@code resilience} sizes the member's API call pool
 *                         (kept so that existing callers compile)
 * @param requestTimeout   timeout of one API request (default 10s); also the longest one attempt of a guarded call
 *                         may take, whatever the HTTP client does
 * @param gpuResourceName  Kubernetes resource name of Ray's GPU (default nvidia.com/gpu)
 * @param requestRetries   fabric8's own retries of a failed request (default 0: retries belong to
 *                         {@code resilience.retries}, where the breakers and the rate limit see every attempt;
 *                         fabric8's would also repeat the informers' requests)
 * @param unreachableAfter how long a synced member may have no working watch before it is UNREACHABLE (default 5s)
 * @param resilience       circuit breakers, bulkhead, rate limit and retries of API calls (default
 *                         {@link ResilienceOptions#defaults()})
 */
public record MemberClusterOptions(
        String rayClusterName,
        Duration startTimeout,
        Duration retryInterval,
        int workerThreads,
        Duration requestTimeout,
        String gpuResourceName,
        int requestRetries,
        Duration unreachableAfter,
        ResilienceOptions resilience) {

    public static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_RETRY_INTERVAL = Duration.ofSeconds(15);
    public static final int DEFAULT_WORKER_THREADS = 4;
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(10);
    public static final int DEFAULT_REQUEST_RETRIES = 0;
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
        resilience = resilience == null ? ResilienceOptions.defaults() : resilience;
    }

    /** The eight settings before resilience; resilience takes its defaults. */
    public MemberClusterOptions(String rayClusterName, Duration startTimeout, Duration retryInterval, int workerThreads,
                                Duration requestTimeout, String gpuResourceName, int requestRetries, Duration unreachableAfter) {
        this(rayClusterName, startTimeout, retryInterval, workerThreads, requestTimeout, gpuResourceName, requestRetries,
                unreachableAfter, null);
    }

    /** The first six settings; client retries, the unreachable threshold and resilience take their defaults. */
    public MemberClusterOptions(String rayClusterName, Duration startTimeout, Duration retryInterval, int workerThreads,
                                Duration requestTimeout, String gpuResourceName) {
        this(rayClusterName, startTimeout, retryInterval, workerThreads, requestTimeout, gpuResourceName,
                DEFAULT_REQUEST_RETRIES, DEFAULT_UNREACHABLE_AFTER, null);
    }

    /** Every setting at its default. */
    public static MemberClusterOptions defaults(String rayClusterName) {
        return new MemberClusterOptions(rayClusterName, null, null, 0, null, null);
    }

    public MemberClusterOptions withStartTimeout(Duration d) {
        return new MemberClusterOptions(rayClusterName, d, retryInterval, workerThreads, requestTimeout, gpuResourceName, requestRetries, unreachableAfter, resilience);
    }

    public MemberClusterOptions withRetryInterval(Duration d) {
        return new MemberClusterOptions(rayClusterName, startTimeout, d, workerThreads, requestTimeout, gpuResourceName, requestRetries, unreachableAfter, resilience);
    }

    public MemberClusterOptions withRequestTimeout(Duration d) {
        return new MemberClusterOptions(rayClusterName, startTimeout, retryInterval, workerThreads, d, gpuResourceName, requestRetries, unreachableAfter, resilience);
    }

    public MemberClusterOptions withGpuResourceName(String name) {
        return new MemberClusterOptions(rayClusterName, startTimeout, retryInterval, workerThreads, requestTimeout, name, requestRetries, unreachableAfter, resilience);
    }

    public MemberClusterOptions withRequestRetries(int retries) {
        return new MemberClusterOptions(rayClusterName, startTimeout, retryInterval, workerThreads, requestTimeout, gpuResourceName, retries, unreachableAfter, resilience);
    }

    public MemberClusterOptions withUnreachableAfter(Duration d) {
        return new MemberClusterOptions(rayClusterName, startTimeout, retryInterval, workerThreads, requestTimeout, gpuResourceName, requestRetries, d, resilience);
    }

    public MemberClusterOptions withResilience(ResilienceOptions r) {
        return new MemberClusterOptions(rayClusterName, startTimeout, retryInterval, workerThreads, requestTimeout, gpuResourceName, requestRetries, unreachableAfter, r);
    }

    private static Duration positiveOr(Duration d, Duration fallback) {
        return d == null || d.isZero() || d.isNegative() ? fallback : d;
    }
}
