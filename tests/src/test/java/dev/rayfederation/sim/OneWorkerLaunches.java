package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Create requests of one worker each, as Ray's autoscaler v2 sends them, from a few launcher threads that each send
 * one request, wait for its answer, pause, and send the next, until {@link #close()} or until {@code max} workers
 * were answered as created. Every answer is kept: when it was sent and answered, what it created and left pending.
 */
final class OneWorkerLaunches implements AutoCloseable {

    /** One request and its answer; {@code status} -1 when no answer came. */
    record Launch(String requestId, Instant sent, Instant answered, int status, List<String> created, List<String> pending,
                  String error) {

        /** Created and its pod confirmed by the answer. */
        boolean confirmed() {
            return (status == 201 || status == 200) && created.size() == 1 && pending.isEmpty();
        }
    }

    private final SidecarApi api;
    private final String nodeType;
    private final String prefix;
    private final int max;
    private final Duration pause;
    private final List<Thread> threads = new ArrayList<>();
    private final List<Launch> launches = new CopyOnWriteArrayList<>();
    private final AtomicInteger sent = new AtomicInteger();
    private final AtomicInteger created = new AtomicInteger();
    private volatile boolean closed;

    /**
     * @param threads launchers sending at once
     * @param max     stop once this many workers were answered as created
     * @param pause   between an answer and a launcher's next request
     */
    OneWorkerLaunches(SidecarApi api, String nodeType, String prefix, int threads, int max, Duration pause) {
        this.api = api;
        this.nodeType = nodeType;
        this.prefix = prefix;
        this.max = max;
        this.pause = pause;
        for (int i = 0; i < threads; i++) {
            Thread t = new Thread(this::launch, prefix + "-launcher-" + i);
            t.setDaemon(true);
            this.threads.add(t);
        }
    }

    OneWorkerLaunches start() {
        threads.forEach(Thread::start);
        return this;
    }

    private void launch() {
        while (!closed && created.get() < max) {
            String id = prefix + "-" + sent.incrementAndGet();
            Instant at = Instant.now();
            Launch l;
            try {
                SidecarApi.Response r = api.createNodes(nodeType, 1, id, SidecarApi.rayTags(nodeType));
                l = new Launch(id, at, Instant.now(), r.status(), SidecarApi.created(r), ids(r.body().path("pending")),
                        r.status() == 201 || r.status() == 200 ? null : r.raw());
            } catch (RuntimeException e) {
                l = new Launch(id, at, Instant.now(), -1, List.of(), List.of(), e.toString());
            }
            launches.add(l);
            created.addAndGet(l.created().size());
            try {
                Thread.sleep(pause.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static List<String> ids(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    /** Every answer so far, in the order they came. */
    List<Launch> launches() {
        return List.copyOf(launches);
    }

    /** Workers answered as created so far. */
    int created() {
        return created.get();
    }

    /** Stops sending and waits for the requests under way to be answered. */
    @Override
    public void close() {
        closed = true;
        for (Thread t : threads) {
            try {
                t.join(Duration.ofSeconds(60).toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
