package dev.rayfederation.sidecar.sync;

import dev.rayfederation.sidecar.placement.Cordons;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Writes the registry and the cordons to the state file at most once a second when either changed, and once more
 * at shutdown.
 */
public final class StatePersistence {

    private static final Logger LOG = LoggerFactory.getLogger(StatePersistence.class);

    private final StateStore store;
    private final NodeRegistry registry;
    private final Cordons cordons;
    private volatile long savedRevision = -1;
    private volatile long savedCordons = -1;

    public StatePersistence(StateStore store, NodeRegistry registry, Cordons cordons) {
        this.store = store;
        this.registry = registry;
        this.cordons = cordons;
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
        long cordonRev = cordons.revision();
        if (rev == savedRevision && cordonRev == savedCordons) {
            return;
        }
        try {
            store.save(registry.all(), cordons.all());
            savedRevision = rev;
            savedCordons = cordonRev;
        } catch (IOException | RuntimeException e) {
            LOG.warn("cannot write state file {}: {}", store.file(), e.getMessage());
        }
    }
}
