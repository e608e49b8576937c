package dev.rayfederation.sidecar.provision;

/** The node named does not exist (or is terminating). */
public final class NodeNotFoundException extends RuntimeException {

    private final String nodeId;

    public NodeNotFoundException(String nodeId) {
        super("no node " + nodeId, null, false, false);
        this.nodeId = nodeId;
    }

    public String nodeId() {
        return nodeId;
    }
}
