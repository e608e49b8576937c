package dev.rayfederation.sidecar.decisions;

import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * One placement decision, as {@code GET /v1/events} and the status CLI show it.
 *
 * @param kind     placed, rejected, replaced or terminated
 * @param nodeType the pool's Ray node type
 * @param from     the member a node left (replaced, terminated); null otherwise
 * @param to       the member nodes went to (placed, replaced); null otherwise
 * @param nodeIds  the nodes concerned (empty for a rejection: nothing was created)
 * @param count    how many workers (the rejected count for a rejection)
 * @param reason   why, in words: the strategy and split, the rejection's message, the re-placement's cause
 */
public record Decision(Instant time, Kind kind, String pool, String nodeType, String from, String to,
                       List<String> nodeIds, int count, String reason) {

    public Decision {
        nodeIds = List.copyOf(nodeIds);
    }

    /** True when {@code member} is where nodes came from or went to. */
    public boolean concerns(String member) {
        return member.equals(from) || member.equals(to);
    }

    public enum Kind {
        PLACED, REJECTED, REPLACED, TERMINATED;

        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The kind of this wire name, or null. */
        public static Kind ofWire(String wire) {
            for (Kind k : values()) {
                if (k.wire().equals(wire)) {
                    return k;
                }
            }
            return null;
        }
    }
}
