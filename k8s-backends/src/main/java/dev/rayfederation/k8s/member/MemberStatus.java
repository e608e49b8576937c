package dev.rayfederation.k8s.member;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * A member's current {@link MemberState} with its reason and since when, and the listeners told of every change.
 * Read from any thread; changed only by the member's control thread, which also calls the listeners.
 */
final class MemberStatus {

    private static final Logger LOG = LoggerFactory.getLogger(MemberStatus.class);

    private record View(MemberState state, String reason, Instant since) {
    }

    private final String member;
    private final List<Consumer<MemberState>> listeners = new CopyOnWriteArrayList<>();
    private volatile View view = new View(MemberState.SYNCING, "not started", Instant.now());

    MemberStatus(String member) {
        this.member = member;
    }

    MemberState state() {
        return view.state();
    }

    /** Why the member is in its state; null when healthy. */
    String reason() {
        return view.reason();
    }

    Instant since() {
        return view.since();
    }

    void onChange(Consumer<MemberState> listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /** Changes state or reason (since stays while the state does), logs a change of state and tells the listeners. */
    void transition(MemberState next, String reason) {
        View previous = view;
        if (previous.state() == next && Objects.equals(previous.reason(), reason)) {
            return;
        }
        view = new View(next, reason, previous.state() == next ? previous.since() : Instant.now());
        if (previous.state() == next) {
            return;
        }
        if (next == MemberState.HEALTHY) {
            LOG.info("member {}: {} (was {})", member, next.wire(), previous.state().wire());
        } else {
            LOG.warn("member {}: {} (was {}): {}", member, next.wire(), previous.state().wire(), reason);
        }
        for (Consumer<MemberState> l : listeners) {
            try {
                l.accept(next);
            } catch (RuntimeException e) {
                LOG.warn("member {}: state listener failed", member, e);
            }
        }
    }
}
