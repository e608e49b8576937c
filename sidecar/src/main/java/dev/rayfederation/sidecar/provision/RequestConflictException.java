package dev.rayfederation.sidecar.provision;

/** A create request reuses a requestId with a different body: nothing is created. */
public final class RequestConflictException extends RuntimeException {

    private final String requestId;

    public RequestConflictException(String requestId) {
        super("requestId " + requestId + " was already used with a different request body", null, false, false);
        this.requestId = requestId;
    }

    public String requestId() {
        return requestId;
    }
}
