package dev.rayfederation.sidecar.provision;

import dev.rayfederation.sidecar.placement.Rejection;

import java.util.List;

/**
 * The answer to a create request.
 *
 * @param requestId the request's id
 * @param created   ids of the nodes created
 * @param rejected  how many were not created and why (count 0 when all were)
 * @param replay    true when this answers a repeated requestId (HTTP 200 instead of 201)
 */
public record CreateOutcome(String requestId, List<String> created, Rejection rejected, boolean replay) {

    public CreateOutcome {
        created = List.copyOf(created);
    }

    public CreateOutcome asReplay() {
        return new CreateOutcome(requestId, created, rejected, true);
    }
}
