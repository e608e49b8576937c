package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Pod;

import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Watches, on a thread of its own and every {@code every}, what a federation's members run against what the
 * sidecar lists: the worker pods of every member (read straight from each member's API server, never through the
 * sidecar's own path to it), then {@code GET /v1/nodes}. A pod not being deleted whose node id the listing lacks
 * is a worker Ray cannot see: each one is recorded. Pods are read first, so a pod seen existed before the listing
 * was read: the sidecar lists a node before it creates its pod.
 *
 * <p>It also keeps every change of one member's entry in {@code GET /v1/clusters} (state, breaker, hold-out) with
 * when it was seen.
 */
final class ListingWatch implements AutoCloseable {

    /** A pod that ran while the sidecar did not list its node. */
    record Unlisted(Instant at, String member, String pod, String nodeId) {
    }

    /** The watched member's entry in GET /v1/clusters, as first seen at {@code at}. */
    record Seen(Instant at, String state, Instant stateSince, String stateReason, String breaker, Instant breakerSince,
                String breakerReason, String heldOutUntil, int flaps) {

        static Seen of(Instant at, JsonNode c) {
            return new Seen(at, c.path("state").asText(), instant(c.path("stateSince")), c.path("stateReason").asText(null),
                    c.path("breaker").asText(), instant(c.path("breakerSince")), c.path("breakerReason").asText(null),
                    c.path("heldOutUntil").asText(null), c.path("flaps").asInt());
        }

        private static Instant instant(JsonNode n) {
            return n.isTextual() ? Instant.parse(n.asText()) : null;
        }

        boolean sameAs(Seen o) {
            return o != null && state.equals(o.state) && breaker.equals(o.breaker) && flaps == o.flaps
                    && java.util.Objects.equals(heldOutUntil, o.heldOutUntil);
        }
    }

    private final SimulatedFederation federation;
    private final String member;
    private final Duration every;
    private final Thread thread;
    private final List<Unlisted> unlisted = new CopyOnWriteArrayList<>();
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private final List<String> errors = new CopyOnWriteArrayList<>();
    private volatile int rounds;
    private volatile boolean closed;

    ListingWatch(SimulatedFederation federation, String member, Duration every) {
        this.federation = federation;
        this.member = member;
        this.every = every;
        this.thread = new Thread(this::run, "listing-watch");
        this.thread.setDaemon(true);
    }

    ListingWatch start() {
        thread.start();
        return this;
    }

    private void run() {
        while (!closed) {
            try {
                look();
                rounds++;
            } catch (RuntimeException e) {
                errors.add(Instant.now() + " " + e); // the next round may succeed; a test that needs rounds checks them
            }
            try {
                Thread.sleep(every.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void look() {
        Instant at = Instant.now();
        List<SimulatedMember> members = federation.members().members();
        List<List<Pod>> pods = members.stream().map(SimulatedMember::workerPods).toList();
        Set<String> listed = new HashSet<>();
        federation.nodes().forEach(n -> listed.add(n.path("id").asText()));
        for (int i = 0; i < members.size(); i++) {
            for (Pod p : pods.get(i)) {
                String id = p.getMetadata().getLabels().get(SimulatedFederation.NODE_ID_LABEL);
                if (p.getMetadata().getDeletionTimestamp() == null && id != null && !listed.contains(id)) {
                    unlisted.add(new Unlisted(at, members.get(i).name(), p.getMetadata().getName(), id));
                }
            }
        }
        for (JsonNode c : federation.api().clusters().body().path("clusters")) {
            if (member.equals(c.path("name").asText())) {
                Seen now = Seen.of(Instant.now(), c);
                Seen last = seen.isEmpty() ? null : seen.get(seen.size() - 1);
                if (!now.sameAs(last)) {
                    seen.add(now);
                }
            }
        }
    }

    /** Pods that ran unlisted, each time one was seen. */
    List<Unlisted> unlisted() {
        return List.copyOf(unlisted);
    }

    /** The watched member's entry each time it changed. */
    List<Seen> seen() {
        return List.copyOf(seen);
    }

    /** Rounds completed (pods and listing both read). */
    int rounds() {
        return rounds;
    }

    /** Rounds that failed, with why. */
    List<String> errors() {
        return List.copyOf(errors);
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(Duration.ofSeconds(30).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
