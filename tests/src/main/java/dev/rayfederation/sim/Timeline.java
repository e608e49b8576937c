package dev.rayfederation.sim;

import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * What happened during a chaos run, in order, with times relative to its start: each {@link Event} is kept (tests
 * look them up) and, when an output is given, printed as it happens, one line each:
 *
 * <pre>
 *   +12.4s  breaker     aws-use1 closed -> open (cloud:aws): 3 of 3 calls failed, last: connection refused
 * </pre>
 *
 * Thread-safe: the scale-up driver, the cluster watch and the scenario itself write to one timeline.
 */
public final class Timeline {

    /** Kinds of events; the name is printed in a fixed-width column. */
    public enum Kind {
        STEP, FAULT, REQUEST, REPLACED, BREAKER, STATE, BACKOFF, STALE, SIDECAR, CHECK, NOTE;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * One thing that happened.
     *
     * @param at      time since the timeline started
     * @param kind    what sort of thing
     * @param subject the member, request or step it is about (may be empty)
     * @param text    what happened, for a person
     */
    public record Event(Duration at, Kind kind, String subject, String text) {
        public Event {
            Objects.requireNonNull(at, "at");
            Objects.requireNonNull(kind, "kind");
            subject = subject == null ? "" : subject;
            text = text == null ? "" : text;
        }

        /** {@code +12.4s  breaker     aws-use1 closed -> open}. */
        public String line() {
            String time = String.format(Locale.ROOT, "+%.1fs", at.toMillis() / 1000.0);
            return String.format(Locale.ROOT, "%8s  %-9s %s%s", time, kind.label(),
                    subject.isEmpty() ? "" : subject + " ", text);
        }
    }

    private final Instant start;
    private final PrintStream out;
    private final List<Event> events = new ArrayList<>();

    /** A timeline starting now that prints each event to {@code out} (null: prints nothing). */
    public Timeline(PrintStream out) {
        this.start = Instant.now();
        this.out = out;
    }

    /** A timeline that keeps its events without printing them. */
    public static Timeline silent() {
        return new Timeline(null);
    }

    public Instant start() {
        return start;
    }

    /** Records (and prints) an event now. */
    public Event add(Kind kind, String subject, String text) {
        Event e = new Event(Duration.between(start, Instant.now()), kind, subject, text);
        synchronized (events) {
            events.add(e);
            if (out != null) {
                out.println(e.line());
                out.flush();
            }
        }
        return e;
    }

    /** Prints a line without a time (headings, tables); does not record an event. */
    public void print(String text) {
        if (out != null) {
            synchronized (events) {
                out.println(text);
                out.flush();
            }
        }
    }

    /** Every event so far, in order. */
    public List<Event> events() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    /** Events of one kind about one subject (any subject when null), in order. */
    public List<Event> events(Kind kind, String subject) {
        List<Event> out = new ArrayList<>();
        for (Event e : events()) {
            if (e.kind() == kind && (subject == null || subject.equals(e.subject()))) {
                out.add(e);
            }
        }
        return out;
    }

    /** The whole timeline as text, one event per line (for failure messages). */
    public String render() {
        StringBuilder sb = new StringBuilder();
        for (Event e : events()) {
            sb.append(e.line()).append('\n');
        }
        return sb.toString();
    }
}
