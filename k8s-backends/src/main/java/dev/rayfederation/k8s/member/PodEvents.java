package dev.rayfederation.k8s.member;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Kubernetes Events (core/v1) on our worker pods, so that {@code kubectl describe pod} in a member says why the
 * sidecar put the worker there. Best effort, never in the way of placement: an event waits (on its own thread) up
 * to {@link #WAIT_FOR_POD} for the pod to show in the member's informer (it needs the pod's uid); the same reason on
 * the same pod is posted at most once per {@link #SAME_EVENT_EVERY}; a member gets at most {@link #PER_SECOND} events
 * per second with bursts of {@link #BURST}. Events are not retried and never go through the member's call guard:
 * they must not count against its breakers.
 */
final class PodEvents {

    private static final Logger LOG = LoggerFactory.getLogger(PodEvents.class);
    static final Duration WAIT_FOR_POD = Duration.ofSeconds(30);
    static final Duration SAME_EVENT_EVERY = Duration.ofMinutes(5);
    static final int BURST = 100;
    static final double PER_SECOND = 10.0;
    /** The Event's source.component, as `kubectl describe` shows it ("From"). */
    static final String COMPONENT = "ray-federation";
    private static final int MAX_MESSAGE = 1024;
    private static final int REMEMBERED = 10_000;
    private static final long RECHECK_MILLIS = 500;

    private final String namespace;
    private final Supplier<KubernetesClient> client;
    private final Function<String, Optional<WorkerPod>> pods;
    private final ScheduledExecutorService executor;
    private final Clock clock;
    private final Map<String, Instant> lastPosted = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Instant> eldest) {
            return size() > REMEMBERED;
        }
    };
    private double tokens = BURST;
    private Instant refilled;
    private final AtomicLong sequence = new AtomicLong();

    /**
     * @param pods     a worker pod of the member by name, as its informer sees it (a lookup, not a scan: every
     *                 placed worker gets an event)
     * @param executor a thread of its own for waiting and posting
     */
    PodEvents(String namespace, Supplier<KubernetesClient> client, Function<String, Optional<WorkerPod>> pods,
              ScheduledExecutorService executor, Clock clock) {
        this.namespace = namespace;
        this.client = client;
        this.pods = pods;
        this.executor = executor;
        this.clock = clock;
        this.refilled = clock.instant();
    }

    /** Posts {@code reason} with {@code message} on pod {@code podName} (type Warning or Normal) when admitted. */
    CompletionStage<PodEventOutcome> post(String podName, String reason, String message, boolean warning) {
        if (!admit(podName + "\u0000" + reason)) {
            return CompletableFuture.completedFuture(PodEventOutcome.DROPPED);
        }
        CompletableFuture<PodEventOutcome> done = new CompletableFuture<>();
        attempt(podName, reason, message, warning, clock.instant().plus(WAIT_FOR_POD), done);
        return done;
    }

    private void attempt(String podName, String reason, String message, boolean warning, Instant until,
                         CompletableFuture<PodEventOutcome> done) {
        long delay = find(podName).isPresent() ? 0 : RECHECK_MILLIS;
        try {
            executor.schedule(() -> {
                Optional<WorkerPod> pod = find(podName);
                if (pod.isPresent() && pod.get().uid() != null) {
                    done.complete(send(pod.get(), reason, message, warning));
                } else if (clock.instant().isAfter(until)) {
                    LOG.debug("no Event {} on pod {}: the pod did not show within {}s", reason, podName, WAIT_FOR_POD.toSeconds());
                    done.complete(PodEventOutcome.NO_POD);
                } else {
                    attempt(podName, reason, message, warning, until, done);
                }
            }, delay, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException closed) {
            done.complete(PodEventOutcome.FAILED);
        }
    }

    private Optional<WorkerPod> find(String podName) {
        return pods.apply(podName);
    }

    private PodEventOutcome send(WorkerPod pod, String reason, String message, boolean warning) {
        Instant now = clock.instant();
        String text = message.length() > MAX_MESSAGE ? message.substring(0, MAX_MESSAGE - 3) + "..." : message;
        Event event = new EventBuilder()
                .withNewMetadata()
                    // unique like the names kubelet gives its events: <object>.<hex time><hex sequence>
                    .withName(pod.podName() + "." + Long.toHexString(now.toEpochMilli()) + Long.toHexString(sequence.incrementAndGet()))
                    .withNamespace(namespace)
                .endMetadata()
                .withNewInvolvedObject()
                    .withApiVersion("v1")
                    .withKind("Pod")
                    .withNamespace(namespace)
                    .withName(pod.podName())
                    .withUid(pod.uid())
                .endInvolvedObject()
                .withReason(reason)
                .withMessage(text)
                .withType(warning ? "Warning" : "Normal")
                .withNewSource().withComponent(COMPONENT).endSource()
                .withFirstTimestamp(now.toString())
                .withLastTimestamp(now.toString())
                .withCount(1)
                .build();
        try {
            client.get().v1().events().inNamespace(namespace).resource(event).create();
            return PodEventOutcome.POSTED;
        } catch (RuntimeException e) {
            LOG.debug("Event {} on pod {} not posted: {}", reason, pod.podName(), e.getMessage());
            return PodEventOutcome.FAILED;
        }
    }

    /** The per-pod-and-reason dedup and the member's token bucket. */
    private synchronized boolean admit(String key) {
        Instant now = clock.instant();
        Instant last = lastPosted.get(key);
        if (last != null && Duration.between(last, now).compareTo(SAME_EVENT_EVERY) < 0) {
            return false;
        }
        double elapsed = Math.max(0, Duration.between(refilled, now).toNanos() / 1e9);
        tokens = Math.min(BURST, tokens + elapsed * PER_SECOND);
        refilled = now;
        if (tokens < 1) {
            return false;
        }
        tokens--;
        lastPosted.put(key, now);
        return true;
    }
}
