package dev.rayfederation.k8s.render;

import java.time.Duration;
import java.util.Map;

/**
 * Everything needed to render one network preflight probe pod ({@link ProbePodRenderer}). Pure data.
 *
 * @param podName        DNS-1123 pod name
 * @param rayClusterName rayCluster.name (the probe pods of one Ray cluster are found by it)
 * @param member         the member the probe runs in
 * @param headAddress    the head's GCS address workers dial (host:port)
 * @param port           the port the probe listens on for the sidecar's dial-back
 * @param timeout        how long the probe waits for the dial-back; the pod is ended by Kubernetes soon after
 * @param image          the probe's image; null: the image of the pool template's worker container
 * @param template       the pool's pod template (as a plain map, may be empty): image, node selector, tolerations,
 *                       affinity, image pull secrets and pod security context, so the probe runs where and as the
 *                       pool's workers would
 * @param override       the member's override of that template (may be empty)
 */
public record ProbePodSpec(String podName, String rayClusterName, String member, String headAddress, int port,
                           Duration timeout, String image, Map<String, Object> template, Map<String, Object> override) {

    public ProbePodSpec {
        template = template == null ? Map.of() : template;
        override = override == null ? Map.of() : override;
    }
}
