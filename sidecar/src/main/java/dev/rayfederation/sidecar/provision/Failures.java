package dev.rayfederation.sidecar.provision;

import dev.rayfederation.k8s.member.MemberApiException;

import java.util.Optional;
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
