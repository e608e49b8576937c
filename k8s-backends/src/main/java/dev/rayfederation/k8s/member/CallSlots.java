package dev.rayfederation.k8s.member;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The bulkhead of one member: at most {@code limit} calls in flight. A call that finds every slot taken waits its
 * turn, first come first served, in a queue of at most {@code maxQueued} calls, for up to {@code maxWait}; waiting
 * holds no thread. A slot that frees goes straight to the first call waiting.
 */
final class CallSlots {

    /** What becomes of a call that asked for a slot. */
    interface Waiter {
        /** A slot is the call's now; it must {@link #release()} it once done. */
        void granted();

        /** No slot came within {@code maxWait}. */
        void timedOut();
    }

    private final int limit;
    private final int maxQueued;
    private final Duration maxWait;
    private final ScheduledExecutorService timer;
    private final ArrayDeque<Queued> queue = new ArrayDeque<>();
    private int inFlight;

    private static final class Queued {
        final Waiter waiter;
        ScheduledFuture<?> timeout;

        Queued(Waiter waiter) {
            this.waiter = waiter;
        }
    }

    CallSlots(int limit, int maxQueued, Duration maxWait, ScheduledExecutorService timer) {
        this.limit = limit;
        this.maxQueued = maxQueued;
        this.maxWait = maxWait;
        this.timer = timer;
    }

    /**
     * Grants a slot at once or queues the call; false (and nothing else happens) when the queue is full.
     * {@code waiter} is told exactly once: granted, or timed out.
     */
    boolean acquire(Waiter waiter) {
        Queued q;
        synchronized (this) {
            if (inFlight < limit && queue.isEmpty()) {
                inFlight++;
                q = null;
            } else if (queue.size() >= maxQueued) {
                return false;
            } else {
                q = new Queued(waiter);
                queue.addLast(q);
            }
        }
        if (q == null) {
            waiter.granted();
            return true;
        }
        ScheduledFuture<?> timeout = null;
        try {
            timeout = timer.schedule(() -> expire(q), maxWait.toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            // the timer is closed: the call is failed by whoever closed it
        }
        synchronized (this) {
            q.timeout = timeout;
        }
        return true;
    }

    /** Gives a slot back: to the first call waiting, or to the pool. */
    void release() {
        Queued next;
        synchronized (this) {
            next = queue.pollFirst();
            if (next == null) {
                inFlight--;
            } else if (next.timeout != null) {
                next.timeout.cancel(false);
            }
        }
        if (next != null) {
            next.waiter.granted();
        }
    }

    private void expire(Queued q) {
        boolean removed;
        synchronized (this) {
            removed = queue.remove(q);
        }
        if (removed) {
            q.waiter.timedOut();
        }
    }
}
