package dev.rayfederation.sidecar.provision;

import java.util.List;

/**
 * The answer to a create request (DESIGN §4).
 *
 * @param requestId the request's id
 * @param created   ids of the nodes created
 * @param rejected  how many were not created and why (count 0 when all were)
 * @param replay    true when this answers a repeated requestId (HTTP 200 instead of 201)
 */
public record CreateOutcome(String requestId, List<String> created, Rejected rejected, boolean replay) {

    public CreateOutcome {
        created = List.copyOf(created);
    }

    public CreateOutcome asReplay() {
        return new CreateOutcome(requestId, created, rejected, true);
    }

    /** reason ∈ quota, infeasible, unavailable; null when count is 0. */
    public record Rejected(int count, String reason, String message) {
        public static final Rejected NONE = new Rejected(0, null, null);
    }
}
