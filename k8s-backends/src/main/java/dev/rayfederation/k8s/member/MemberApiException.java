package dev.rayfederation.k8s.member;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A call to a member's Kubernetes API failed, or the member could not be reached at all. Carries what the
 * caller needs without exposing fabric8 types: the HTTP status, what {@link #kind() kind} of failure it is, and
 * the API server's own message ({@link #serverMessage()}).
 */
public class MemberApiException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** How RBAC words a denial: {@code User "system:serviceaccount:ray:federation" cannot create resource "pods" ...}. */
    private static final Pattern RBAC_DENIAL = Pattern.compile("\\bcannot [a-z]+ resource \"");

    /**
     * What a failure says, and whose fault it is. Refusals of the request (INVALID, FORBIDDEN_BY_POLICY,
     * QUOTA_EXCEEDED, UNAUTHORIZED, CONFLICT, NOT_FOUND) are answers: they never count against the member's
     * circuit breaker and are never retried.
     */
    public enum Kind {
        /** 400 or 422: the API server found the pod invalid. A configuration fault of this (member, pool). */
        INVALID,
        /**
         * 403 from admission: PodSecurity, a missing PriorityClass, an admission webhook, any policy that refused
         * the pod. A configuration fault of this (member, pool).
         */
        FORBIDDEN_BY_POLICY,
        /** 403 {@code exceeded quota}: the member's ResourceQuota has no room left. The member's capacity. */
        QUOTA_EXCEEDED,
        /** 401, or a 403 from RBAC: the member refuses our own credentials or lacks a permission for them. */
        UNAUTHORIZED,
        /** 409: the name is taken. */
        CONFLICT,
        /** 404: the object is gone. */
        NOT_FOUND,
        /** No answer, 408, 429, 5xx, or not sent by our own guard: trying again later may pass. */
        UNAVAILABLE,
        /** Anything else (another 4xx, the member was closed). */
        OTHER;

        /**
         * The kind of an API server's answer.
         *
         * @param statusCode    HTTP status, 0 when there was no answer
         * @param serverMessage the message of the API server's Status, may be null
         */
        public static Kind of(int statusCode, String serverMessage) {
            String message = serverMessage == null ? "" : serverMessage.toLowerCase(Locale.ROOT);
            return switch (statusCode) {
                case 0, 408, 429 -> UNAVAILABLE;
                case 400, 422 -> INVALID;
                case 401 -> UNAUTHORIZED;
                case 403 -> message.contains("exceeded quota") ? QUOTA_EXCEEDED
                        : RBAC_DENIAL.matcher(message).find() ? UNAUTHORIZED : FORBIDDEN_BY_POLICY;
                case 404 -> NOT_FOUND;
                case 409 -> CONFLICT;
                default -> statusCode >= 500 ? UNAVAILABLE : OTHER;
            };
        }
    }

    private final String member;
    private final String operation;
    private final int statusCode;
    private final Kind kind;
    private final String serverMessage;
    private final String what;

    /**
     * @param member     member cluster name
     * @param operation  what was attempted ("create pod ray-x", "start", ...)
     * @param statusCode HTTP status of the API server's answer; 0 when there was none (connection refused,
     *                   timeout, bad kubeconfig)
     * @param message    what went wrong, without credentials
     */
    public MemberApiException(String member, String operation, int statusCode, String message, Throwable cause) {
        this(member, operation, statusCode, Kind.of(statusCode, null), null, message, cause);
    }

    /**
     * @param kind          what the failure says (see {@link Kind#of})
     * @param serverMessage the message of the API server's Status, null when there was none
     */
    public MemberApiException(String member, String operation, int statusCode, Kind kind, String serverMessage,
                              String message, Throwable cause) {
        super("member " + member + ": " + operation + " failed"
                + (statusCode > 0 ? " (HTTP " + statusCode + ")" : "") + ": " + message, cause);
        this.what = (statusCode > 0 ? "HTTP " + statusCode + ": " : "") + message;
        this.member = member;
        this.operation = operation;
        this.statusCode = statusCode;
        this.kind = kind == null ? Kind.of(statusCode, serverMessage) : kind;
        this.serverMessage = serverMessage;
    }

    public String member() {
        return member;
    }

    /** What went wrong, without the member and the operation: "no answer within 2s", "HTTP 503: ...". */
    public String what() {
        return what;
    }

    public String operation() {
        return operation;
    }

    /** HTTP status; 0 when the API server did not answer. */
    public int statusCode() {
        return statusCode;
    }

    public Kind kind() {
        return kind;
    }

    /**
     * The API server's own words (the {@code message} of its Status), e.g. {@code pods "x" is forbidden: exceeded
     * quota: compute, requested: cpu=4, used: cpu=8, limited: cpu=10}; null when it sent none.
     */
    public String serverMessage() {
        return serverMessage;
    }

    /**
     * True when the member refused the pod as configured (INVALID, FORBIDDEN_BY_POLICY): the same pod would be refused
     * again, so the fault lies with this member's or pool's configuration, not with the member's health.
     */
    public boolean configurationFault() {
        return kind == Kind.INVALID || kind == Kind.FORBIDDEN_BY_POLICY;
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
