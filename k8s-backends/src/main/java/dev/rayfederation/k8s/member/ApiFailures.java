package dev.rayfederation.k8s.member;

import io.fabric8.kubernetes.client.KubernetesClientException;

import java.net.ConnectException;
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

    static boolean forbidden(Throwable t) {
        int s = status(t);
        return s == 403 || s == 401;
    }

    /** "HTTP 403: pods is forbidden ...", "ConnectException: Connection refused", ... */
    static String describe(Throwable t) {
        Throwable e = unwrap(t);
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
