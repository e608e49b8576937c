package dev.rayfederation.sim;

import java.time.Duration;

/** Durations written like {@code 500ms}, {@code 2s}, {@code 1m}, or a plain number of seconds. */
final class DurationArg {

    private DurationArg() {
    }

    static Duration parse(String text, String what) {
        try {
            if (text.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(text.substring(0, text.length() - 2)));
            }
            if (text.endsWith("s")) {
                return Duration.ofMillis(Math.round(Double.parseDouble(text.substring(0, text.length() - 1)) * 1000));
            }
            if (text.endsWith("m")) {
                return Duration.ofSeconds(Long.parseLong(text.substring(0, text.length() - 1)) * 60);
            }
            return Duration.ofMillis(Math.round(Double.parseDouble(text) * 1000));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + ": '" + text + "' is not a duration (like 500ms, 2s, 1m)");
        }
    }
}
