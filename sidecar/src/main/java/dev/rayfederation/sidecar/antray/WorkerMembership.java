package dev.rayfederation.sidecar.antray;

import dev.rayfederation.sidecar.registry.NodeRecord;

/**
 * Something a worker belongs to besides Ray itself, which must let it go before its pod is deleted (ant-ray's
 * virtual clusters). {@link #NONE} deletes at once.
 */
public interface WorkerMembership {

    WorkerMembership NONE = (node, delete) -> delete.run();

    /** Runs {@code delete} once {@code node} has left (or a deadline passed); may return before that. */
    void beforeDelete(NodeRecord node, Runnable delete);
}
