package dev.rayfederation.k8s.resilience;

import dev.rayfederation.k8s.member.MemberApiException;

import java.time.temporal.ChronoUnit;

/**
 * A call to a member's API was refused before anything was sent: an open circuit breaker, a full bulkhead or
 * the rate limit. Nothing changed in the member, so a failed create leaves no pod behind.
 */
public class CallRefusedException extends MemberApiException {

    private static final long serialVersionUID = 1L;

    private final String guard;
    private final String detail;

    /**
     * @param guard  what refused it: a breaker scope ("cloud:aws", "member:aws-use1"), "bulkhead" or "rate limit"
     * @param detail why, e.g. "circuit breaker cloud:aws is open since ... (5 of 10 calls failed, ...)"
     */
    public CallRefusedException(String member, String operation, String guard, String detail) {
        super(member, operation, 0, "not sent: " + detail, null);
        this.guard = guard;
        this.detail = detail;
    }

    /** The refusal by {@code breaker}, open or half-open with every trial call under way: why, since when, until when. */
    public static CallRefusedException byBreaker(String member, String operation, Breaker breaker) {
        BreakerStatus status = breaker.status();
        boolean open = breaker.isOpen();
        String text = "circuit breaker " + breaker.scope() + " is "
                + (open ? "open" : "half-open and its " + breaker.settings().halfOpenCalls() + " trial calls are under way")
                + " since " + status.since().truncatedTo(ChronoUnit.SECONDS)
                + (status.reason() == null ? "" : " (" + status.reason() + ")")
                + (open ? "; trial calls from " + breaker.trialCallsFrom().truncatedTo(ChronoUnit.SECONDS) : "");
        return new CallRefusedException(member, operation, breaker.scope(), text);
    }

    /** Why, without the member and operation: "circuit breaker cloud:aws is open since ...". */
    public String detail() {
        return detail;
    }

    /** What refused the call: a breaker scope ("cloud:aws", "member:aws-use1"), "bulkhead" or "rate limit". */
    public String guard() {
        return guard;
    }

    /** True when an open (or half-open and busy) circuit breaker refused the call. */
    public boolean byBreaker() {
        return guard.startsWith(Breaker.CLOUD_PREFIX) || guard.startsWith(Breaker.MEMBER_PREFIX);
    }
}
