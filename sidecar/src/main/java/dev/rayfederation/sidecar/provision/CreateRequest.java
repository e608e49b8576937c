package dev.rayfederation.sidecar.provision;

import java.util.Map;

/**
 * A validated POST /v1/nodes body.
 *
 * @param nodeType   Ray node type (names a pool's rayNodeType)
 * @param count      workers wanted, 1..pool.maxWorkers
 * @param requestId  idempotency key (generated when the caller sent none)
 * @param tags       Ray tags to store on every created node
 * @param resources  what Ray believes one node provides (informational: the pool config is authoritative)
 * @param labels     Ray labels from the node type (informational)
 * @param nodeConfig Ray's node_config for the type (bounded: see docs/security.md, "What node_config may carry")
 * @param hash       SHA-256 of the canonical body, to tell a replay from a conflicting reuse of the id
 */
public record CreateRequest(
        String nodeType,
        int count,
        String requestId,
        Map<String, String> tags,
        Map<String, Double> resources,
        Map<String, String> labels,
        Map<String, Object> nodeConfig,
        String hash) {
}
