package dev.rayfederation.sidecar.provision;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRecord.Phase;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import dev.rayfederation.sidecar.registry.RayTags;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.TreeMap;

/** Ray's tag updates: merged into the node at once and persisted on its pod, so they survive a restart. */
public final class NodeTagger {

    private static final Logger LOG = LoggerFactory.getLogger(NodeTagger.class);

    private final Map<String, MemberCluster> members;
    private final NodeRegistry registry;

    public NodeTagger(Map<String, MemberCluster> members, NodeRegistry registry) {
        this.members = members;
        this.registry = registry;
    }

    /**
     * Merges tags into a live node's tags (the status tag stays the sidecar's) and persists them on its pod (best
     * effort: the next update carries them again).
     *
     * @throws NodeNotFoundException when the node is unknown or terminating
     */
    public NodeRecord setTags(String id, Map<String, String> tags) {
        NodeRecord updated = registry.update(id, r -> {
            if (!r.live()) {
                return r;
            }
            Map<String, String> merged = new TreeMap<>(r.tags());
            merged.putAll(tags);
            merged.put(RayTags.NODE_STATUS, r.status());
            return r.withTags(merged);
        }).filter(NodeRecord::live).orElseThrow(() -> new NodeNotFoundException(id));
        MemberCluster member = members.get(updated.member());
        if (member != null && updated.phase() == Phase.POD) {
            member.updateWorkerTags(updated.podName(), updated.tags()).whenComplete((v, err) -> {
                if (err != null) {
                    LOG.warn("could not persist tags of {} on its pod: {}", id, Failures.rootMessage(err));
                }
            });
        }
        return updated;
    }
}
