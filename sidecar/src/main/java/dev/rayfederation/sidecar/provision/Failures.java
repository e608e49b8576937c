package dev.rayfederation.sidecar.provision;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Turns the exceptions of asynchronous member calls into what a person should read. */
public final class Failures {

    private Failures() {
    }

    /** The message of the root cause, unwrapping completion and execution wrappers. */
    public static String rootMessage(Throwable e) {
        return root(e).getMessage() == null ? root(e).getClass().getSimpleName() : root(e).getMessage();
    }

    public static Throwable root(Throwable e) {
        Throwable t = e;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
