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
 * @param pending   ids among {@code created} whose pods are not confirmed yet: the create deadline passed with their
 *                  member silent; they are listed as {@code pending: outcome-unknown} until the member answers
 */
public record CreateOutcome(String requestId, List<String> created, Rejection rejected, boolean replay,
                            List<String> pending) {

    public CreateOutcome {
        created = List.copyOf(created);
        pending = pending == null ? List.of() : List.copyOf(pending);
    }

    public CreateOutcome(String requestId, List<String> created, Rejection rejected, boolean replay) {
        this(requestId, created, rejected, replay, List.of());
    }

    public CreateOutcome asReplay() {
        return new CreateOutcome(requestId, created, rejected, true, pending);
    }
}
