package dev.rayfederation.sidecar.sync;

import dev.rayfederation.sidecar.registry.NodeRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** Writes the registry to the state file at most once a second when it changed, and once more at shutdown. */
public final class StatePersistence {

    private static final Logger LOG = LoggerFactory.getLogger(StatePersistence.class);

    private final StateStore store;
    private final NodeRegistry registry;
    private volatile long savedRevision = -1;

    public StatePersistence(StateStore store, NodeRegistry registry) {
        this.store = store;
        this.registry = registry;
    }

    public void start(ScheduledExecutorService scheduler) {
        scheduler.scheduleWithFixedDelay(this::persist, 1, 1, TimeUnit.SECONDS);
    }

    /** Writes the file now (at shutdown). */
    public void flush() {
        savedRevision = -1;
        persist();
    }

    private synchronized void persist() {
        long rev = registry.revision();
        if (rev == savedRevision) {
            return;
        }
        try {
            store.save(registry.all());
            savedRevision = rev;
        } catch (IOException | RuntimeException e) {
            LOG.warn("cannot write state file {}: {}", store.file(), e.getMessage());
        }
    }
}
