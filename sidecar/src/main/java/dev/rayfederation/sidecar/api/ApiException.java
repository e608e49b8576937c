package dev.rayfederation.sidecar.api;

/**
 * A request the API answers with an error: {@code {"error": {"code", "message", "field"}}}.
 * Thrown anywhere in a request's flow and mapped to the response in one place.
 */
public final class ApiException extends RuntimeException {

    private final int status;
    private final String code;
    private final String field;

    public ApiException(int status, String code, String message, String field) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
        this.field = field;
    }

    public static ApiException invalid(String field, String message) {
        return new ApiException(400, "invalid", message, field);
    }

    public static ApiException notFound(String message) {
        return new ApiException(404, "not_found", message, null);
    }

    public static ApiException conflict(String field, String message) {
        return new ApiException(409, "conflict", message, field);
    }

    /** 410: what the request refers to existed once and is gone for good (a listing revision no longer held). */
    public static ApiException gone(String field, String message) {
        return new ApiException(410, "gone", message, field);
    }

    public static ApiException notReady(String message) {
        return new ApiException(503, "not_ready", message, null);
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    public String field() {
        return field;
    }
}
