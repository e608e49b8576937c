package dev.rayfederation.sidecar.federation;

/** A cordon or uncordon named a member that is not in the configuration in force. */
public final class MemberNotFoundException extends RuntimeException {

    public MemberNotFoundException(String message) {
        super(message);
    }
}
