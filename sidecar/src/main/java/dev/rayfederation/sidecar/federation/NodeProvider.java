package dev.rayfederation.sidecar.federation;

import dev.rayfederation.sidecar.placement.Cordons;
import dev.rayfederation.sidecar.provision.CreateOutcome;
import dev.rayfederation.sidecar.provision.CreateRequest;
import dev.rayfederation.sidecar.provision.NodeTerminator.TerminateOutcome;
import dev.rayfederation.sidecar.registry.NodeRecord;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * What Ray's autoscaler (and an operator, for cordons) may do through the node-provider API: the writes. Reads go
 * through {@link FederationState}.
 */
public interface NodeProvider {

    /** @throws dev.rayfederation.sidecar.provision.RequestConflictException on a reused requestId with another body */
    CompletionStage<CreateOutcome> create(CreateRequest request);

    TerminateOutcome terminate(List<String> ids);

    /** @throws dev.rayfederation.sidecar.provision.NodeNotFoundException when the node is unknown or terminating */
    NodeRecord setTags(String id, Map<String, String> tags);

    /**
     * Takes a member out of placement (idempotent: a cordoned member keeps its first cordon).
     *
     * @throws MemberNotFoundException when the member is not in the configuration in force
     */
    Cordons.Cordon cordon(String member, String by, String reason);

    /**
     * Lets a cordoned member take new workers again; false when it was not cordoned.
     *
     * @throws MemberNotFoundException when the member is not in the configuration in force
     */
    boolean uncordon(String member);
}
