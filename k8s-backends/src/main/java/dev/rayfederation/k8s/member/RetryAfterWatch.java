package dev.rayfederation.k8s.member;

import io.fabric8.kubernetes.client.http.AsyncBody;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.fabric8.kubernetes.client.http.Interceptor;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Remembers the latest {@code Retry-After} a member's API server sent with a 429 or 503, as an HTTP interceptor
 * of the member's fabric8 client. fabric8's exceptions carry the answer's Status but not its headers, and an
 * overloaded API server (API Priority and Fairness) answers 429 with a plain-text body and only the header. The
 * server asks the client, not one request, to hold off: any retry of the member waits until then.
 */
final class RetryAfterWatch implements Interceptor {

    /** Interceptor name in the fabric8 HTTP client. */
    static final String NAME = "ray-federation-retry-after";

    private final AtomicReference<Instant> until = new AtomicReference<>(Instant.EPOCH);

    @Override
    public void after(HttpRequest request, HttpResponse<?> response, AsyncBody.Consumer<List<ByteBuffer>> consumer) {
        if (response.code() != 429 && response.code() != 503) {
            return;
        }
        Duration wait = parse(response.header("Retry-After"), Instant.now());
        if (!wait.isZero()) {
            Instant then = Instant.now().plus(wait);
            until.accumulateAndGet(then, (a, b) -> a.isAfter(b) ? a : b);
        }
    }

    /** How much longer the API server asked us to wait; zero when it did not (or the time has passed). */
    Duration remaining() {
        Duration left = Duration.between(Instant.now(), until.get());
        return left.isNegative() ? Duration.ZERO : left;
    }

    /** A Retry-After value: delay-seconds or an HTTP date; zero when absent or unreadable. */
    static Duration parse(String value, Instant now) {
        if (value == null || value.isBlank()) {
            return Duration.ZERO;
        }
        String v = value.trim();
        try {
            long seconds = Long.parseLong(v);
            return seconds > 0 ? Duration.ofSeconds(Math.min(seconds, 86_400)) : Duration.ZERO;
        } catch (NumberFormatException notSeconds) {
            try {
                Duration d = Duration.between(now, ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant());
                return d.isNegative() ? Duration.ZERO : d;
            } catch (DateTimeParseException notADate) {
                return Duration.ZERO;
            }
        }
    }
}
