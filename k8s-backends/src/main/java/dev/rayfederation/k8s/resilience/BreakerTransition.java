package dev.rayfederation.k8s.resilience;

import java.time.Instant;

/**
 * A circuit breaker changed state: for metrics (count transitions per scope) and a chaos timeline.
 *
 * @param scope  which breaker: "cloud:aws" or "member:aws-use1"
 * @param from   the state it left
 * @param to     the state it entered
 * @param at     when
 * @param reason why, e.g. "5 of 10 calls failed, last: aws-use1: HTTP 503: ..." or "3 trial calls succeeded"
 */
public record BreakerTransition(String scope, BreakerStatus.State from, BreakerStatus.State to, Instant at, String reason) {
}
