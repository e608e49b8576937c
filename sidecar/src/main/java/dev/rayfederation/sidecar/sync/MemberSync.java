package dev.rayfederation.sidecar.sync;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.member.MemberState;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.k8s.member.WorkerPod;
import dev.rayfederation.k8s.member.WorkerPodListener;
import dev.rayfederation.k8s.resources.WorkerShape;
import dev.rayfederation.sidecar.config.CurrentConfig;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.placement.CapacityBackoff;
import dev.rayfederation.sidecar.placement.WorkerShapes;
import dev.rayfederation.sidecar.provision.PodDeleter;
import dev.rayfederation.sidecar.registry.NodeRecord;
import dev.rayfederation.sidecar.registry.NodeRecord.Phase;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import dev.rayfederation.sidecar.registry.NodeStatus;
import dev.rayfederation.sidecar.registry.RayTags;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Instant;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Keeps the registry in step with what the members report about our worker pods: status and IP changes, pods
 * found that the registry does not know (adopted: this is how the state is rebuilt after a restart), pods deleted,
 * evicted or failed without Ray asking (they leave the snapshot, and their (member, pool) pair backs off), and a
 * member that answers again after an outage (nodes deleted meanwhile leave).
 */
public final class MemberSync {

    private static final Logger LOG = LoggerFactory.getLogger(MemberSync.class);

    private final CurrentConfig config;
    private final NodeRegistry registry;
    private final WorkerShapes shapes;
    private final CapacityBackoff backoff;
    private final PodDeleter deleter;
    private final FederationMetrics metrics;
    private final Clock clock;

    public MemberSync(CurrentConfig config, NodeRegistry registry, WorkerShapes shapes, CapacityBackoff backoff,
                      PodDeleter deleter, FederationMetrics metrics, Clock clock) {
        this.config = config;
        this.registry = registry;
        this.shapes = shapes;
        this.backoff = backoff;
        this.deleter = deleter;
        this.metrics = metrics;
        this.clock = clock;
    }

    /** Subscribes to a member's worker pods and state. */
    public void follow(MemberCluster member) {
        member.addWorkerPodListener(new Pods(member.name()));
        member.onStateChange(s -> {
            // its pods cannot be observed: show them as last known
            registry.setStale(member.name(), s == MemberState.UNREACHABLE || s == MemberState.UNAUTHORIZED);
            if (s.placeable()) {
                reconcile(member);
            }
        });
    }

    /**
     * A member answers again: its informer lists the truth. Nodes it no longer has (deleted while it could not be
     * reached) leave the snapshot. Recently placed nodes are spared: their pods may not be listed yet.
     */
    private void reconcile(MemberCluster member) {
        Set<String> present = new HashSet<>();
        for (WorkerPod p : member.workerPods()) {
            if (p.nodeId() != null && !p.deleting()) {
                present.add(p.nodeId());
            }
        }
        Instant recent = clock.instant().minusSeconds(60);
        for (NodeRecord r : registry.all()) {
            if (r.member().equals(member.name()) && r.phase() == Phase.POD && !present.contains(r.id())
                    && r.created().isBefore(recent)) {
                LOG.info("node {} is gone from {} (while it could not be reached)", r.id(), member.name());
                metrics.workerLost(member.name(), "gone");
                registry.forget(r.id(), member.name(), r.podName());
            }
        }
    }

    /** One member's worker pods → the registry. */
    private final class Pods implements WorkerPodListener {
        private final String member;

        Pods(String member) {
            this.member = member;
        }

        @Override
        public void onUpsert(WorkerPod pod) {
            if (pod.nodeId() == null) {
                return;
            }
            if (registry.gone(pod.nodeId())) {
                if (!pod.deleting()) {
                    deleter.deleteOrphan(member, pod.podName());
                }
                return;
            }
            Optional<NodeRecord> known = registry.get(pod.nodeId());
            if (known.isEmpty()) {
                if (!pod.deleting()) {
                    registry.put(adopt(pod));
                }
                return;
            }
            NodeRecord rec = known.get();
            if (!rec.member().equals(member) || !rec.podName().equals(pod.podName())) {
                if (rec.live() && !pod.deleting()) { // a pod, or a create under way elsewhere (moved after no answer)
                    LOG.warn("node {} has a second pod {} in {} (known in {}); deleting the second",
                            pod.nodeId(), pod.podName(), member, rec.member());
                    deleter.deleteOrphan(member, pod.podName());
                }
                return;
            }
            if (pod.deleting()) {
                // deleted or evicted by someone else, or our own delete in progress: Ray must see it gone
                if (rec.live()) {
                    lost(rec, pod.condition() == WorkerPod.Condition.EVICTED ? "evicted" : "deleted");
                }
                registry.update(rec.id(), r -> r.withPhase(Phase.TERMINATING));
                return;
            }
            Optional<NodeRecord> now = registry.update(rec.id(),
                    r -> r.phase() == Phase.TERMINATING ? r : NodeStatus.observe(r, pod));
            if (now.isPresent() && became(rec, now.get(), RayTags.STATUS_UP_TO_DATE)) {
                backoff.succeed(member, rec.pool());
            }
            if (now.isPresent() && became(rec, now.get(), RayTags.STATUS_UPDATE_FAILED)) {
                lost(rec, pod.condition() == WorkerPod.Condition.EVICTED ? "evicted" : "failed");
            }
        }

        @Override
        public void onDelete(WorkerPod pod) {
            if (pod.nodeId() != null) {
                registry.get(pod.nodeId()).filter(r -> r.live() && r.member().equals(member))
                        .ifPresent(r -> lost(r, "deleted"));
                registry.forget(pod.nodeId(), member, pod.podName());
            }
        }

        private static boolean became(NodeRecord before, NodeRecord after, String status) {
            return status.equals(after.status()) && !status.equals(before.status());
        }

        /**
         * A worker went away (or failed) without Ray asking: count it, and let the (member, pool) pair back off so
         * replacements avoid a member that is preempting or evicting (spot reclaim, node drain) for a while.
         */
        private void lost(NodeRecord rec, String reason) {
            metrics.workerLost(member, reason);
            CapacityBackoff.Entry e = backoff.fail(member, rec.pool(), "worker " + reason);
            LOG.info("node {} of pool {} on {}: {} without Ray asking; {} backs off {}s for that pool",
                    rec.id(), rec.pool(), member, reason, member, e.pause().toSeconds());
        }

        /** A pod found in a member that the registry does not know: rebuild its node from the pod. */
        private NodeRecord adopt(WorkerPod pod) {
            Optional<Pool> pool = config.get().pools().stream().filter(p -> p.name().equals(pod.pool())).findFirst();
            ResourceVector resources = pool.map(Pool::resources).orElse(pod.requests());
            WorkerShape shape = pool.map(p -> shapes.of(p.name(), member)).orElse(null);
            if (shape == null) {
                shape = WorkerShape.of(pod.requests());
            }
            String nodeType = pod.rayNodeType() != null ? pod.rayNodeType() : pool.map(Pool::rayNodeType).orElse("unknown");
            Map<String, String> tags = new TreeMap<>(pod.tags());
            tags.putIfAbsent(RayTags.NODE_KIND, "worker");
            tags.putIfAbsent(RayTags.USER_NODE_TYPE, nodeType);
            return NodeRecord.builder().id(pod.nodeId()).nodeType(nodeType)
                    .pool(pod.pool() == null ? "unknown" : pod.pool())
                    .virtualCluster(pod.virtualCluster() == null ? "unknown" : pod.virtualCluster())
                    .member(member).podName(pod.podName()).tags(tags).status(NodeStatus.of(pod))
                    .internalIp(pod.podIp()).phase(Phase.POD).bound(pod.bound()).requestId(pod.requestId())
                    .requestHash(pod.requestHash()).requestCount(pod.requestCount()).resources(resources).shape(shape)
                    .created(pod.created() == null ? clock.instant() : pod.created()).reason(NodeStatus.reason(pod))
                    .build();
        }
    }
}
