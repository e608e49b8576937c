package dev.rayfederation.k8s.member;

/** Health of one member cluster as placement and GET /v1/clusters see it. */
public enum MemberState {
    /** Informers not synced yet (start-up). Not placed on. */
    SYNCING("syncing"),
    /** Synced and answering. */
    HEALTHY("healthy"),
    /** Answering, but with errors or a partial view (for example Nodes may not be listed). */
    DEGRADED("degraded"),
    /** Cannot be reached; its nodes are reported stale. Not placed on. */
    UNREACHABLE("unreachable"),
    /** Taken out of placement by an operator. */
    CORDONED("cordoned"),
    /**
     * The API server refuses our credentials (401: a bad or expired token), or they lack a permission we need
     * (403 by RBAC). Not placed on; its last known pods are kept. The member reconnects with its kubeconfig read
     * afresh every retry interval until the credentials work again.
     */
    UNAUTHORIZED("unauthorized");

    private final String wire;

    MemberState(String wire) {
        this.wire = wire;
    }

    /** The value used in the HTTP API. */
    public String wire() {
        return wire;
    }

    public boolean placeable() {
        return this == HEALTHY || this == DEGRADED;
    }
}
