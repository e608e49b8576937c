package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sim.Timeline.Kind;

import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Scales one pool up over the sidecar's HTTP API the way Ray's autoscaler does: it looks at GET /v1/nodes, asks
 * for what is missing in batches (POST /v1/nodes, a fresh requestId per batch), asks again later for workers that
 * were rejected or went away, and repeats a request with the same requestId (and body) when a call got no answer
 * or a 503 (the sidecar was killed or is starting), so the sidecar can tell it a replay.
 *
 * <p>{@link #reach} does that until the pool has the target; {@link #keepAt} keeps doing it on a thread of its own
 * until {@link #close()}. Every answer is written to the {@link Timeline} with where the created workers landed.
 */
public final class ScaleUpDriver implements AutoCloseable {

    /** What one POST /v1/nodes returned. */
    public record Round(String requestId, int asked, boolean replay, List<String> created, int rejected,
                        String reason, Map<String, Integer> byMember) {
    }

    /** A request that got no answer: sent again, unchanged, before anything else. */
    private record Unanswered(String requestId, int count) {
    }

    private static final Duration PAUSE_AFTER_REJECTION = Duration.ofMillis(500);
    private static final Duration PAUSE_AT_TARGET = Duration.ofMillis(200);

    private final SidecarApi api;
    private final String pool;
    private final String nodeType;
    private final String requestPrefix;
    private final int batch;
    private final Timeline timeline;
    private final List<Round> rounds = new ArrayList<>();
    private final AtomicReference<RuntimeException> failure = new AtomicReference<>();
    private Unanswered unanswered;
    private int requests;
    private volatile boolean closed;
    private Thread background;

    /**
     * @param pool          the pool (its Ray node type is the same name in these scenarios unless {@code nodeType}
     *                      says otherwise)
     * @param requestPrefix requestIds are {@code <prefix>-1}, {@code <prefix>-2}, ...
     * @param batch         at most this many workers per request
     */
    public ScaleUpDriver(SidecarApi api, String pool, String nodeType, String requestPrefix, int batch, Timeline timeline) {
        if (batch < 1) {
            throw new IllegalArgumentException("batch: must be >= 1, got " + batch);
        }
        this.api = api;
        this.pool = pool;
        this.nodeType = nodeType;
        this.requestPrefix = requestPrefix;
        this.batch = batch;
        this.timeline = timeline;
    }

    /** Live nodes of the pool in GET /v1/nodes, or -1 when the sidecar does not answer. */
    public int count() {
        Map<String, String> clusters = clusters();
        return clusters == null ? -1 : clusters.size();
    }

    /** Every answer so far. */
    public synchronized List<Round> rounds() {
        return List.copyOf(rounds);
    }

    /** Every node id an answer returned as created: the workers Ray knows it launched. */
    public synchronized java.util.Set<String> createdIds() {
        java.util.Set<String> out = new java.util.TreeSet<>();
        rounds.forEach(r -> out.addAll(r.created()));
        return out;
    }

    /**
     * Scales until GET /v1/nodes shows at least {@code target} workers of the pool.
     *
     * @throws IllegalStateException when that has not happened within {@code deadline}
     */
    public void reach(int target, Duration deadline) {
        Instant end = Instant.now().plus(deadline);
        while (!step(target)) {
            if (Instant.now().isAfter(end)) {
                throw new IllegalStateException("pool " + pool + " did not reach " + target + " workers within "
                        + deadline.toSeconds() + " s (GET /v1/nodes shows " + count() + "); last answers: " + lastRounds(3));
            }
        }
    }

    /** Keeps the pool at {@code target} on a thread of its own until {@link #close()}. */
    public synchronized void keepAt(int target) {
        if (background != null) {
            throw new IllegalStateException("already running");
        }
        background = new Thread(() -> {
            while (!closed) {
                try {
                    step(target);
                } catch (RuntimeException e) {
                    failure.compareAndSet(null, e);
                    timeline.add(Kind.NOTE, "driver", "failed: " + e);
                    return;
                }
            }
        }, "scale-up-" + pool);
        background.setDaemon(true);
        background.start();
    }

    /** What stopped the background thread, if something did. */
    public RuntimeException failure() {
        return failure.get();
    }

    /**
     * One autoscaler iteration: replays an unanswered request, or asks for what is missing (at most one batch), or,
     * at the target, waits a moment. Returns true when the pool is at (or above) the target.
     */
    public boolean step(int target) {
        Unanswered replay;
        synchronized (this) {
            replay = unanswered;
        }
        if (replay != null) {
            send(replay.requestId(), replay.count(), true);
            return false;
        }
        int now = count();
        if (now < 0) {
            pause(PAUSE_AFTER_REJECTION);
            return false;
        }
        if (now >= target) {
            pause(PAUSE_AT_TARGET);
            return true;
        }
        String requestId;
        synchronized (this) {
            requestId = requestPrefix + "-" + (++requests);
        }
        send(requestId, Math.min(batch, target - now), false);
        return false;
    }

    private void send(String requestId, int count, boolean replay) {
        SidecarApi.Response r;
        try {
            r = api.createNodes(nodeType, count, requestId, tags());
        } catch (UncheckedIOException e) {
            synchronized (this) {
                unanswered = new Unanswered(requestId, count);
            }
            timeline.add(Kind.REQUEST, requestId, "ask " + count + (replay ? " (again)" : "")
                    + " -> no answer; will send the same requestId again");
            pause(PAUSE_AFTER_REJECTION);
            return;
        }
        if (r.status() == 503) {
            // not ready (starting up): nothing was done; the same request goes again
            synchronized (this) {
                unanswered = new Unanswered(requestId, count);
            }
            timeline.add(Kind.REQUEST, requestId, "ask " + count + (replay ? " (again)" : "") + " -> 503 "
                    + r.body().path("error").path("message").asText("not ready") + "; will send it again");
            pause(PAUSE_AFTER_REJECTION);
            return;
        }
        synchronized (this) {
            unanswered = null;
        }
        if (r.status() != 200 && r.status() != 201) {
            timeline.add(Kind.REQUEST, requestId, "ask " + count + " -> " + r);
            pause(PAUSE_AFTER_REJECTION);
            return;
        }
        List<String> created = new ArrayList<>();
        r.body().path("created").forEach(n -> created.add(n.asText()));
        JsonNode rejected = r.body().path("rejected");
        Map<String, Integer> byMember = byMember(created);
        Round round = new Round(requestId, count, r.status() == 200, created, rejected.path("count").asInt(),
                rejected.path("reason").asText(""), byMember);
        synchronized (this) {
            rounds.add(round);
        }
        timeline.add(Kind.REQUEST, requestId, describe(round, rejected.path("message").asText("")));
        if (created.isEmpty()) {
            pause(PAUSE_AFTER_REJECTION);
        }
    }

    private static String describe(Round round, String message) {
        StringBuilder sb = new StringBuilder("ask ").append(round.asked());
        sb.append(round.replay() ? " -> replayed answer: " : " -> ");
        sb.append("created ").append(round.created().size());
        if (!round.byMember().isEmpty()) {
            List<String> parts = new ArrayList<>();
            round.byMember().forEach((m, k) -> parts.add(m + " " + k));
            sb.append(" (").append(String.join(", ", parts)).append(')');
        }
        if (round.rejected() > 0) {
            sb.append(", rejected ").append(round.rejected()).append(" (").append(round.reason()).append(")");
            if (!message.isEmpty()) {
                sb.append(": ").append(message.length() > 200 ? message.substring(0, 200) + "..." : message);
            }
        }
        return sb.toString();
    }

    /** Where the created workers are now, by member (ids already gone from the snapshot count as "gone"). */
    private Map<String, Integer> byMember(List<String> created) {
        Map<String, Integer> out = new TreeMap<>();
        if (created.isEmpty()) {
            return out;
        }
        Map<String, String> clusters = clusters();
        for (String id : created) {
            String member = clusters == null ? "?" : clusters.getOrDefault(id, "gone");
            out.merge(member, 1, Integer::sum);
        }
        return out;
    }

    /** id → member of the pool's live nodes; null when the sidecar does not answer. */
    private Map<String, String> clusters() {
        SidecarApi.Response r;
        try {
            r = api.getNodes();
        } catch (UncheckedIOException e) {
            return null;
        }
        if (r.status() != 200) {
            return null;
        }
        Map<String, String> out = new HashMap<>();
        for (JsonNode n : r.body().path("nodes")) {
            if (pool.equals(n.path("pool").asText())) {
                out.put(n.path("id").asText(), n.path("cluster").asText());
            }
        }
        return out;
    }

    private Map<String, String> tags() {
        Map<String, String> tags = new LinkedHashMap<>();
        tags.put("ray-node-type", "worker");
        tags.put("ray-user-node-type", nodeType);
        tags.put("ray-node-status", "uninitialized");
        tags.put("ray-launch-config", "chaos");
        return tags;
    }

    private synchronized String lastRounds(int k) {
        return rounds.subList(Math.max(0, rounds.size() - k), rounds.size()).toString();
    }

    private void pause(Duration d) {
        if (closed) {
            return;
        }
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closed = true;
        }
    }

    /** Stops the background thread (if any) and waits for it. */
    @Override
    public void close() {
        closed = true;
        Thread t;
        synchronized (this) {
            t = background;
        }
        if (t != null) {
            try {
                t.join(Duration.ofSeconds(40).toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
