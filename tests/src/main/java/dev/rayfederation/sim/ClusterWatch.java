package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rayfederation.sim.Timeline.Kind;

import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Polls the sidecar's GET /v1/clusters and GET /v1/nodes (every 200 ms by default) and writes what changed to a
 * {@link Timeline}, the way a person watching the API would notice it:
 * <ul>
 *   <li>breaker transitions per member (closed, open, half_open; a transition and its way back between two polls
 *       shows as a changed {@code breakerSince});</li>
 *   <li>member state changes (healthy, degraded, unreachable) and back-offs of (member, pool) pairs;</li>
 *   <li>nodes turning stale or fresh, nodes that move to another member under the same id (re-placements), and
 *       nodes that leave the snapshot;</li>
 *   <li>the sidecar not answering (killed or restarting) and answering again.</li>
 * </ul>
 * It also remembers every breaker state and node status it saw, for tests. {@link #close()} stops the polling.
 */
public final class ClusterWatch implements AutoCloseable {

    /** What one poll saw of one member. */
    private record MemberView(String state, String breaker, String breakerScope, String breakerSince,
                              String breakerReason, String stateReason, Map<String, String> backoffs) {
    }

    /** What one poll saw of one node. */
    private record NodeView(String cluster, String status, boolean stale) {
    }

    private final SidecarApi api;
    private final Timeline timeline;
    private final ScheduledExecutorService poller;
    private final Map<String, MemberView> members = new LinkedHashMap<>();
    private final Map<String, NodeView> nodes = new HashMap<>();
    private final Map<String, List<String>> breakerStates = new HashMap<>();
    private final Map<String, List<String>> statuses = new HashMap<>();
    private final Map<String, Integer> staleByMember = new TreeMap<>();
    private String etag;
    private boolean answering = true;
    private boolean firstPoll = true;

    private ClusterWatch(SidecarApi api, Timeline timeline) {
        this.api = api;
        this.timeline = timeline;
        this.poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "cluster-watch");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts polling every {@code every} (the first poll at once: it records the starting point silently). */
    public static ClusterWatch start(SidecarApi api, Timeline timeline, Duration every) {
        ClusterWatch w = new ClusterWatch(api, timeline);
        w.poller.scheduleWithFixedDelay(w::pollQuietly, 0, every.toMillis(), TimeUnit.MILLISECONDS);
        return w;
    }

    /** Starts polling every 200 ms. */
    public static ClusterWatch start(SidecarApi api, Timeline timeline) {
        return start(api, timeline, Duration.ofMillis(200));
    }

    /** Every breaker state seen for the member, in order, without repeats (the first one included). */
    public synchronized List<String> breakerStates(String member) {
        return List.copyOf(breakerStates.getOrDefault(member, List.of()));
    }

    /** Every status seen for the node, in order, without repeats. */
    public synchronized List<String> statuses(String nodeId) {
        return List.copyOf(statuses.getOrDefault(nodeId, List.of()));
    }

    private void pollQuietly() {
        try {
            poll();
        } catch (RuntimeException e) {
            timeline.add(Kind.NOTE, "watch", "poll failed: " + e);
        }
    }

    private synchronized void poll() {
        SidecarApi.Response clusters;
        SidecarApi.Response snapshot;
        try {
            clusters = api.clusters();
            snapshot = api.getNodes(etag);
        } catch (UncheckedIOException e) {
            etag = null; // a restarted sidecar counts revisions afresh
            if (answering) {
                answering = false;
                timeline.add(Kind.SIDECAR, "", "not answering (" + shortCause(e) + ")");
            }
            return;
        }
        if (!answering) {
            answering = true;
            timeline.add(Kind.SIDECAR, "", "answering again");
        }
        if (clusters.status() == 200) {
            for (JsonNode c : clusters.body().path("clusters")) {
                member(c);
            }
        }
        if (snapshot.status() == 200) {
            etag = snapshot.etag();
            nodes(snapshot.body().path("nodes"));
        }
        firstPoll = false;
    }

    private void member(JsonNode c) {
        String name = c.path("name").asText();
        Map<String, String> backoffs = new TreeMap<>();
        for (JsonNode b : c.path("backoffs")) {
            backoffs.put(b.path("pool").asText(), b.path("failures").asInt() + "|" + b.path("pauseSeconds").asLong()
                    + "|" + b.path("reason").asText());
        }
        MemberView now = new MemberView(c.path("state").asText(), c.path("breaker").asText(),
                c.path("breakerScope").asText(), c.path("breakerSince").asText(), text(c.path("breakerReason")),
                text(c.path("stateReason")), backoffs);
        MemberView was = members.put(name, now);
        List<String> seen = breakerStates.computeIfAbsent(name, k -> new ArrayList<>());
        if (seen.isEmpty() || !seen.get(seen.size() - 1).equals(now.breaker())) {
            seen.add(now.breaker());
        }
        if (was == null) {
            if (!firstPoll || !"closed".equals(now.breaker()) || !"healthy".equals(now.state())) {
                timeline.add(Kind.STATE, name, now.state() + ", breaker " + now.breaker());
            }
            return;
        }
        if (!was.breaker().equals(now.breaker())) {
            timeline.add(Kind.BREAKER, name, was.breaker() + " -> " + now.breaker() + " (" + now.breakerScope() + ")"
                    + (now.breakerReason() == null ? "" : ": " + now.breakerReason()));
        } else if (!was.breakerSince().equals(now.breakerSince())) {
            timeline.add(Kind.BREAKER, name, was.breaker() + " -> ... -> " + now.breaker() + " (" + now.breakerScope()
                    + ", between two polls)" + (now.breakerReason() == null ? "" : ": " + now.breakerReason()));
        }
        if (!was.state().equals(now.state())) {
            timeline.add(Kind.STATE, name, was.state() + " -> " + now.state()
                    + (now.stateReason() == null ? "" : ": " + now.stateReason()));
        }
        backoffChanges(name, was.backoffs(), now.backoffs());
    }

    private void backoffChanges(String member, Map<String, String> was, Map<String, String> now) {
        now.forEach((pool, v) -> {
            if (!v.equals(was.get(pool))) {
                String[] parts = v.split("\\|", 3);
                timeline.add(Kind.BACKOFF, member, "pool " + pool + " backs off " + parts[1] + "s (failure " + parts[0]
                        + "): " + parts[2]);
            }
        });
        was.keySet().stream().filter(pool -> !now.containsKey(pool))
                .forEach(pool -> timeline.add(Kind.BACKOFF, member, "pool " + pool + ": back-off over"));
    }

    private void nodes(JsonNode list) {
        Map<String, NodeView> now = new HashMap<>();
        Map<String, Integer> stale = new TreeMap<>();
        for (JsonNode n : list) {
            String id = n.path("id").asText();
            NodeView v = new NodeView(n.path("cluster").asText(), n.path("status").asText(), n.path("stale").asBoolean());
            now.put(id, v);
            if (v.stale()) {
                stale.merge(v.cluster(), 1, Integer::sum);
            }
            List<String> seen = statuses.computeIfAbsent(id, k -> new ArrayList<>());
            if (seen.isEmpty() || !seen.get(seen.size() - 1).equals(v.status())) {
                seen.add(v.status());
            }
            NodeView was = nodes.get(id);
            if (was != null && !was.cluster().equals(v.cluster())) {
                timeline.add(Kind.REPLACED, "node " + id, was.cluster() + " -> " + v.cluster() + " (same id, status "
                        + v.status() + ")");
            }
        }
        Map<String, Integer> gone = new TreeMap<>();
        nodes.forEach((id, v) -> {
            if (!now.containsKey(id)) {
                gone.merge(v.cluster(), 1, Integer::sum);
            }
        });
        gone.forEach((member, k) -> timeline.add(Kind.NOTE, member, k + " node(s) left GET /v1/nodes"));
        for (String member : union(staleByMember, stale)) {
            int before = staleByMember.getOrDefault(member, 0);
            int after = stale.getOrDefault(member, 0);
            if (before != after) {
                timeline.add(Kind.STALE, member, after == 0 ? "nodes fresh again (none stale)"
                        : after + " node(s) stale: kept in GET /v1/nodes with stale=true, not reported gone");
            }
        }
        staleByMember.clear();
        staleByMember.putAll(stale);
        nodes.clear();
        nodes.putAll(now);
    }

    private static List<String> union(Map<String, Integer> a, Map<String, Integer> b) {
        TreeMap<String, Integer> all = new TreeMap<>(a);
        all.putAll(b);
        return List.copyOf(all.keySet());
    }

    private static String text(JsonNode n) {
        return n.isMissingNode() || n.isNull() ? null : n.asText();
    }

    private static String shortCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return Objects.requireNonNullElse(t.getMessage(), t.getClass().getSimpleName());
    }

    @Override
    public void close() {
        poller.shutdownNow();
        try {
            poller.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
