package dev.rayfederation.sidecar.provision;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * Remembers the answer to each create requestId so a replay returns the first answer and creates nothing
 * . Holds the most recent {@code capacity} requests in memory; older ones, and all of them
 * after a restart, are answered from the pods' request annotations (see {@link NodeCreator}).
 */
final class RequestLog {

    record Prior(String hash, CreateOutcome outcome) {
    }

    /** first: the caller must produce the answer and complete {@code answer}; otherwise just await it. */
    record Claim(boolean first, CompletableFuture<CreateOutcome> answer) {
    }

    private record Entry(String hash, CompletableFuture<CreateOutcome> answer) {
    }

    private final Map<String, Entry> entries;

    RequestLog(int capacity) {
        this.entries = new LinkedHashMap<>(1024, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Entry> eldest) {
                return size() > capacity && eldest.getValue().answer().isDone();
            }
        };
    }

    synchronized Claim claim(String requestId, String hash, Supplier<Optional<Prior>> fromPods) {
        Entry e = entries.get(requestId);
        if (e == null) {
            Optional<Prior> prior = fromPods.get();
            if (prior.isPresent()) {
                e = new Entry(prior.get().hash(), CompletableFuture.completedFuture(prior.get().outcome()));
                entries.put(requestId, e);
            }
        }
        if (e != null) {
            if (e.hash() != null && !e.hash().equals(hash)) {
                throw new RequestConflictException(requestId);
            }
            return new Claim(false, e.answer());
        }
        CompletableFuture<CreateOutcome> answer = new CompletableFuture<>();
        entries.put(requestId, new Entry(hash, answer));
        return new Claim(true, answer);
    }

    /** Drops a request that failed as a whole, so it may be retried. */
    synchronized void forget(String requestId) {
        entries.remove(requestId);
    }
}
