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
    private final int sentBefore;

    /**
     * @param guard  what refused it: a breaker scope ("cloud:aws", "member:aws-use1"), "bulkhead" or "rate limit"
     * @param detail why, e.g. "circuit breaker cloud:aws is open since ... (5 of 10 calls failed, ...)"
     */
    public CallRefusedException(String member, String operation, String guard, String detail) {
        this(member, operation, guard, detail, 0);
    }

    private CallRefusedException(String member, String operation, String guard, String detail, int sentBefore) {
        super(member, operation, 0, "not sent: " + detail + (sentBefore == 0 ? ""
                : " (after " + sentBefore + " attempt" + (sentBefore == 1 ? "" : "s") + " without an answer)"), null);
        this.guard = guard;
        this.detail = detail;
        this.sentBefore = sentBefore;
    }

    /**
     * This refusal of a retry whose earlier {@code attempts} were sent and never answered: the call as a whole
     * may have taken effect in the member (a pod may exist), so its outcome is unknown rather than refused.
     */
    public CallRefusedException afterSent(int attempts) {
        return new CallRefusedException(member(), operation(), guard, detail, attempts);
    }

    /** Attempts of this call that were sent without an answer before the refusal; 0: nothing was ever sent. */
    public int sentBefore() {
        return sentBefore;
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
