package dev.rayfederation.k8s.member;

import dev.rayfederation.k8s.resilience.CallRefusedException;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.client.KubernetesClientException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/** Short, credential-free descriptions of what went wrong talking to a member's API server. */
final class ApiFailures {

    private ApiFailures() {
    }

    /** The failure without CompletionException/ExecutionException wrappers. */
    static Throwable unwrap(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }

    /** The HTTP status of the API server's answer anywhere in the cause chain; 0 when it did not answer. */
    static int status(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof KubernetesClientException k && k.getCode() > 0) {
                return k.getCode();
            }
        }
        return 0;
    }

    /**
     * What a failed call says about the member, for its circuit breakers and for retries:
     * <ul>
     *   <li>no answer (connection refused or reset, timeout, any transport error), HTTP 408, 429 and 5xx:
     *       {@link CallOutcome#MEMBER_FAILURE} (the member, or the way to it, is in trouble; trying again may pass);
     *   <li>any other 4xx (404, 409 AlreadyExists or Conflict, 400/422 invalid, 401/403 incl. ResourceQuota and
     *       admission denials): {@link CallOutcome#REQUEST_REJECTED} (the member answered; our request was at fault);
     *   <li>anything else (the member is closed, the kubeconfig cannot be read, a bug of ours):
     *       {@link CallOutcome#NOT_SENT} (says nothing about the member).
     * </ul>
     */
    static CallOutcome outcome(Throwable t) {
        Throwable e = unwrap(t);
        int status = status(e);
        if (status == 0 && e instanceof MemberApiException m) {
            status = m.statusCode();
        }
        if (status > 0) {
            return status == 408 || status == 429 || status >= 500 ? CallOutcome.MEMBER_FAILURE : CallOutcome.REQUEST_REJECTED;
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof KubernetesClientException || c instanceof IOException || c instanceof UncheckedIOException
                    || c instanceof TimeoutException) {
                return CallOutcome.MEMBER_FAILURE;
            }
        }
        return CallOutcome.NOT_SENT;
    }

    /** The wait the API server asked for in its Status ({@code details.retryAfterSeconds}); zero when none. */
    static Duration retryAfter(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof KubernetesClientException k) {
                Status s = k.getStatus();
                Integer seconds = s == null || s.getDetails() == null ? null : s.getDetails().getRetryAfterSeconds();
                if (seconds != null && seconds > 0) {
                    return Duration.ofSeconds(seconds);
                }
            }
        }
        return Duration.ZERO;
    }

    /** The API server's message (its Status' {@code message}) anywhere in the cause chain; null when none. */
    static String serverMessage(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof MemberApiException m && m.serverMessage() != null) {
                return m.serverMessage();
            }
            if (c instanceof KubernetesClientException k && k.getCode() > 0) {
                return k.getStatus() == null ? null : k.getStatus().getMessage();
            }
        }
        return null;
    }

    /** What kind of failure this is, for the caller (see {@link MemberApiException.Kind#of}). */
    static MemberApiException.Kind kind(Throwable t) {
        Throwable e = unwrap(t);
        if (e instanceof MemberApiException m) {
            return m.kind();
        }
        return MemberApiException.Kind.of(status(e), serverMessage(e));
    }

    /**
     * True when the HTTP/2 connection was closed under the request ("GOAWAY received"): what Java's client reports
     * when an API server answers 401 and closes the connection, as it does for an unauthenticated client.
     */
    static boolean goAway(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof IOException && c.getMessage() != null && c.getMessage().contains("GOAWAY")) {
                return true;
            }
        }
        return false;
    }

    static boolean forbidden(Throwable t) {
        int s = status(t);
        return s == 403 || s == 401;
    }

    /**
     * The caller's view of a failed call: refusals and our own exceptions as they are, the member's failures as
     * {@link MemberApiException} (with {@code suffix}, e.g. how many attempts were made).
     */
    static RuntimeException forCaller(String member, String op, Throwable failure, String suffix) {
        Throwable e = unwrap(failure);
        if (e instanceof CallRefusedException refused) {
            return refused;
        }
        if (e instanceof MemberApiException m) {
            return suffix.isEmpty() ? m
                    : new MemberApiException(member, op, m.statusCode(), m.kind(), m.serverMessage(), describeAttempt(m) + suffix, m);
        }
        if (e instanceof RuntimeException r && outcome(r) == CallOutcome.NOT_SENT) {
            return r;
        }
        return new MemberApiException(member, op, status(e), kind(e), serverMessage(e), describeAttempt(e) + suffix, e);
    }

    /** Like {@link #describe}, and "no answer within 2s" for an attempt that hit its deadline. */
    static String describeAttempt(Throwable failure) {
        Throwable e = unwrap(failure);
        if (e instanceof TimeoutException && e.getMessage() != null) {
            return e.getMessage();
        }
        if (e instanceof MemberApiException m) {
            return m.getCause() == null ? m.getMessage() : describe(m.getCause());
        }
        return describe(e);
    }

    /** "HTTP 403: pods is forbidden ...", "ConnectException: Connection refused", ... */
    static String describe(Throwable t) {
        Throwable e = unwrap(t);
        if (e instanceof CallRefusedException refused) {
            return "not sent: " + refused.detail();
        }
        if (e instanceof TimeoutException) {
            return "no answer in time";
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof KubernetesClientException k && k.getCode() > 0) {
                String message = k.getStatus() != null && k.getStatus().getMessage() != null ? k.getStatus().getMessage() : k.getMessage();
                return "HTTP " + k.getCode() + ": " + firstLine(message);
            }
        }
        // fabric8 wraps transport failures in a KubernetesClientException without a status ("Operation: [list] ...
        // failed."): the cause tells more
        Throwable telling = e;
        while (telling instanceof KubernetesClientException && telling.getCause() != null) {
            telling = telling.getCause();
        }
        boolean connect = false;
        String message = null;
        for (Throwable c = telling; c != null; c = c.getCause()) {
            connect |= c instanceof ConnectException;
            if (message == null && c.getMessage() != null && !c.getMessage().isBlank() && !(c instanceof CompletionException)) {
                message = c.getMessage();
            }
        }
        if (connect) {
            return "cannot connect (" + (message == null ? "connection refused or no route" : firstLine(message)) + ")";
        }
        return telling.getClass().getSimpleName() + (message == null ? "" : ": " + firstLine(message));
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        String line = nl < 0 ? s : s.substring(0, nl);
        return line.length() > 300 ? line.substring(0, 300) + "..." : line;
    }
}
