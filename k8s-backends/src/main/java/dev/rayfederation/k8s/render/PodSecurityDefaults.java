package dev.rayfederation.k8s.render;

import io.fabric8.kubernetes.api.model.Capabilities;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.SeccompProfile;
import io.fabric8.kubernetes.api.model.SecurityContext;

import java.util.ArrayList;
import java.util.List;

/**
 * Worker pods pass Kubernetes' PodSecurity {@code restricted} profile unless the pool's template says otherwise:
 * every field the template leaves unset gets the restricted value, nothing the template sets is changed.
 * <ul>
 *   <li>pod: {@code runAsNonRoot: true}, {@code runAsUser: 1000} (the {@code ray} user of Ray's images),
 *       {@code seccompProfile: RuntimeDefault}, {@code automountServiceAccountToken: false} (a Ray worker needs no
 *       Kubernetes credentials);</li>
 *   <li>every container and init container: {@code allowPrivilegeEscalation: false},
 *       {@code capabilities: {drop: [ALL]}}.</li>
 * </ul>
 */
public final class PodSecurityDefaults {

    /** The uid of the {@code ray} user in Ray's container images. */
    public static final long RAY_UID = 1000L;

    private PodSecurityDefaults() {
    }

    public static void apply(PodSpec spec) {
        PodSecurityContext pod = spec.getSecurityContext() == null ? new PodSecurityContext() : spec.getSecurityContext();
        if (pod.getRunAsNonRoot() == null) {
            pod.setRunAsNonRoot(true);
        }
        if (pod.getRunAsUser() == null && Boolean.TRUE.equals(pod.getRunAsNonRoot())) {
            pod.setRunAsUser(RAY_UID);
        }
        if (pod.getSeccompProfile() == null) {
            pod.setSeccompProfile(new SeccompProfile(null, "RuntimeDefault"));
        }
        spec.setSecurityContext(pod);
        if (spec.getAutomountServiceAccountToken() == null) {
            spec.setAutomountServiceAccountToken(false);
        }
        containers(spec.getContainers());
        containers(spec.getInitContainers());
    }

    private static void containers(List<Container> containers) {
        if (containers == null) {
            return;
        }
        for (Container c : containers) {
            SecurityContext sc = c.getSecurityContext() == null ? new SecurityContext() : c.getSecurityContext();
            if (sc.getAllowPrivilegeEscalation() == null) {
                sc.setAllowPrivilegeEscalation(false);
            }
            if (sc.getCapabilities() == null) {
                sc.setCapabilities(new Capabilities(new ArrayList<>(), new ArrayList<>(List.of("ALL"))));
            }
            c.setSecurityContext(sc);
        }
    }
}
