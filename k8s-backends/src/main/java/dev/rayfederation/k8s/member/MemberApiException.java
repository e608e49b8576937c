package dev.rayfederation.k8s.member;

/**
 * A call to a member's Kubernetes API failed, or the member could not be reached at all. Carries what the
 * caller needs without exposing fabric8 types.
 */
public class MemberApiException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String member;
    private final String operation;
    private final int statusCode;

    /**
     * @param member     member cluster name
     * @param operation  what was attempted ("create pod ray-x", "start", ...)
     * @param statusCode HTTP status of the API server's answer; 0 when there was none (connection refused,
     *                   timeout, bad kubeconfig)
     * @param message    what went wrong, without credentials
     */
    public MemberApiException(String member, String operation, int statusCode, String message, Throwable cause) {
        super("member " + member + ": " + operation + " failed"
                + (statusCode > 0 ? " (HTTP " + statusCode + ")" : "") + ": " + message, cause);
        this.member = member;
        this.operation = operation;
        this.statusCode = statusCode;
    }

    public String member() {
        return member;
    }

    public String operation() {
        return operation;
    }

    /** HTTP status; 0 when the API server did not answer. */
    public int statusCode() {
        return statusCode;
    }

    /** True when no answer came back or the server answered 408/429/5xx: trying again later may succeed. */
    public boolean retryable() {
        return statusCode == 0 || statusCode == 408 || statusCode == 429 || statusCode >= 500;
    }

    public boolean conflict() {
        return statusCode == 409;
    }

    public boolean forbidden() {
        return statusCode == 403 || statusCode == 401;
    }
}
