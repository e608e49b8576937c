package dev.rayfederation.sidecar.provision;

import dev.rayfederation.k8s.member.MemberApiException;
import dev.rayfederation.k8s.resilience.CallRefusedException;

import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

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

    /**
     * True when a create that failed with {@code e} may have taken effect all the same: it was sent and no answer
     * came (a timeout, a dropped connection, a 408 or 5xx whose request the server may have carried out), or a retry
     * was refused after earlier attempts went unanswered. A refusal before anything was sent, or a 4xx, is certain.
     */
    public static boolean outcomeUnknown(Throwable e) {
        Throwable root = root(e);
        if (root instanceof CancellationException || root instanceof TimeoutException) {
            return true;
        }
        if (root instanceof CallRefusedException refused) {
            return refused.sentBefore() > 0;
        }
        if (!(root instanceof MemberApiException api)) {
            return false;
        }
        int status = api.statusCode();
        return status == 0 ? api.kind() == MemberApiException.Kind.UNAVAILABLE : status == 408 || status >= 500;
    }

    /**
     * The member's refusal of a pod as it is configured (invalid, forbidden by admission policy, over its namespace's
     * ResourceQuota), when that is what {@code e} is: such a pod was not created and would be refused again.
     */
    public static Optional<MemberApiException> refusal(Throwable e) {
        if (root(e) instanceof MemberApiException api && (api.configurationFault()
                || api.kind() == MemberApiException.Kind.QUOTA_EXCEEDED)) {
            return Optional.of(api);
        }
        return Optional.empty();
    }

    /** What to tell a person about a refusal: its kind and the API server's own words. */
    public static String refusalMessage(MemberApiException refusal) {
        String kind = switch (refusal.kind()) {
            case INVALID -> "invalid pod";
            case FORBIDDEN_BY_POLICY -> "forbidden by policy";
            case QUOTA_EXCEEDED -> "namespace quota exceeded";
            default -> refusal.kind().name().toLowerCase(java.util.Locale.ROOT);
        };
        String words = refusal.serverMessage() != null ? refusal.serverMessage() : refusal.getMessage();
        return kind + ": " + words;
    }
}
