package dev.rayfederation.sim;

/** A demo step did not turn out as expected; the message says what was expected and what was seen. */
public final class DemoFailure extends RuntimeException {

    public DemoFailure(String message) {
        super(message);
    }
}
