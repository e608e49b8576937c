package dev.rayfederation.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * The Helm charts as a cluster would receive them: {@code helm template} (scripts/lib/helm, built from source on first
 * use) with default and example values, every manifest parsed into fabric8's model classes without unknown fields,
 * the sidecar container's image, ports, probes and security context checked, the member chart's RBAC compared with
 * the least privilege the sidecar needs, and the rendered federation.yaml run through the sidecar's own validator.
 */
class ChartRenderingTest {

    private static final KubernetesSerialization K8S = new KubernetesSerialization();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Path ROOT = RepoRoot.find();
    private static final Path FED = ROOT.resolve("charts/ray-federation");
    private static final Path MEMBER = ROOT.resolve("charts/ray-federation-member");
    private static final String FULL = FED.resolve("examples/full-values.yaml").toString();
    private static final Map<String, List<HasMetadata>> RENDERED = new ConcurrentHashMap<>();

    /** What each render is: release, chart, namespace and extra helm arguments. */
    private static final Map<String, List<String>> RENDERS = Map.ofEntries(
            Map.entry("fed-defaults", List.of("ray-federation", FED.toString(), "-n", "ray")),
            Map.entry("fed-full", List.of("ray-federation", FED.toString(), "-n", "ray", "-f", FULL)),
            Map.entry("fed-open-api", List.of("ray-federation", FED.toString(), "-n", "ray",
                    "--set", "api.host=0.0.0.0", "--set", "api.token.existingSecret=api-token")),
            Map.entry("fed-defaults-raycluster", List.of("ray-federation", FED.toString(), "-n", "ray",
                    "--set", "kubeRay.rayCluster.create=true")),
            Map.entry("fed-full-raycluster-kuberay", List.of("ray-federation", FED.toString(), "-n", "ray", "-f", FULL,
                    "--set", "kubeRay.rayCluster.create=true")),
            Map.entry("fed-full-raycluster-raystart", List.of("ray-federation", FED.toString(), "-n", "ray", "-f", FULL,
                    "--set", "kubeRay.rayCluster.create=true", "--set", "autoscaler.mode=rayStart")),
            Map.entry("member-defaults", List.of("aws-use1", MEMBER.toString(), "-n", "ray-workers")),
            Map.entry("member-full", List.of("gcp-usc1", MEMBER.toString(), "-n", "ray-workers",
                    "--set", "tokenSecret.create=true", "--set", "namespace.create=true")));

    @TempDir
    Path dir;

    // ------------------------------------------------------------------ every manifest

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"fed-defaults", "fed-full", "fed-open-api", "fed-defaults-raycluster",
            "fed-full-raycluster-kuberay", "fed-full-raycluster-raystart", "member-defaults", "member-full"})
    @DisplayName("every rendered manifest parses into fabric8's model with a kind, a name and no unknown field")
    void everyManifestParsesIntoTheModel(String render) {
        List<HasMetadata> objects = rendered(render);

        assertThat(objects).as("objects in %s", render).isNotEmpty();
        for (HasMetadata o : objects) {
            String what = render + ": " + o.getKind() + "/" + o.getMetadata().getName();
            assertThat(o.getApiVersion()).as("apiVersion of %s", what).isNotBlank();
            assertThat(o.getMetadata().getName()).as("name of %s", what).isNotBlank();
            assertThat(o.getMetadata().getLabels()).as("labels of %s", what)
                    .containsEntry("app.kubernetes.io/managed-by", "Helm").containsKey("app.kubernetes.io/instance");
            if (o instanceof GenericKubernetesResource g) {
                assertThat(g.getKind()).as("only CRDs stay generic: %s", what).isIn("RayCluster", "ServiceMonitor");
                if (g.getKind().equals("RayCluster")) {
                    assertNoUnknownFields(headTemplate(g), what + " head template");
                }
            } else {
                assertNoUnknownFields(o, what);
            }
        }
    }

    /** Kinds the charts may render: a new kind must be added here on purpose (and checked below). */
    private static final Set<String> KNOWN_KINDS = Set.of("ConfigMap", "Service", "ServiceAccount", "ServiceMonitor",
            "RayCluster", "Namespace", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "Secret", "NetworkPolicy");

    @Test
    @DisplayName("the charts render only kinds these tests know")
    void onlyKnownKinds() {
        for (String render : RENDERS.keySet()) {
            assertThat(kinds(rendered(render))).as("kinds in %s", render).allMatch(KNOWN_KINDS::contains);
        }
    }

    // ------------------------------------------------------------------ the head add-on

    @Nested
    @DisplayName("ray-federation (head add-on)")
    class HeadAddOn {

        @ParameterizedTest(name = "{0}")
        @ValueSource(strings = {"fed-defaults-raycluster", "fed-full-raycluster-kuberay", "fed-full-raycluster-raystart"})
        @DisplayName("the sidecar container runs the chart's image, restricted, probed on the named port `management`")
        void theSidecarContainerIsRestrictedAndProbedOnTheNamedPort(String render) {
            PodSpec pod = headTemplate(only(rendered(render), GenericKubernetesResource.class, "RayCluster")).getSpec();

            assertSidecar(render, sidecarOf(pod.getContainers()), pod.getVolumes());
            for (Container c : pod.getContainers()) {
                for (VolumeMount m : c.getVolumeMounts()) {
                    assertThat(pod.getVolumes()).as("%s: volume %s mounted by %s", render, m.getName(), c.getName())
                            .anyMatch(v -> v.getName().equals(m.getName()));
                }
            }
            for (Container init : pod.getInitContainers()) {
                assertThat(init.getImage()).as("%s: init container %s", render, init.getName()).isEqualTo(sidecarImage());
                assertRestricted(render + " init container " + init.getName(), init.getSecurityContext());
            }
        }

        @Test
        @DisplayName("the head: values printed for KubeRay's ray-cluster chart carry the same sidecar container")
        void theRayClusterChartValuesCarryTheSameSidecar() throws IOException {
            JsonNode head = YAML.readTree(FED.resolve("examples/ray-cluster-chart-values.yaml").toFile()).path("head");
            List<Container> containers = Arrays.asList(K8S.convertValue(head.path("sidecarContainers"), Container[].class));
            List<Volume> volumes = Arrays.asList(K8S.convertValue(head.path("volumes"), Volume[].class));

            assertSidecar("ray-cluster values", sidecarOf(containers), volumes);
            containers.forEach(c -> assertNoUnknownFields(c, "ray-cluster values container " + c.getName()));
            volumes.forEach(v -> assertNoUnknownFields(v, "ray-cluster values volume " + v.getName()));
        }

        @Test
        @DisplayName("an API opened beyond loopback gets a named container port and keeps its token")
        void anOpenApiGetsAPortAndAToken() throws Exception {
            List<HasMetadata> objects = rendered("fed-open-api");
            JsonNode fed = YAML.readTree(configMap(objects, "ray-federation-config").getData().get("federation.yaml"));

            assertThat(fed.path("api").path("listen").asText()).isEqualTo("0.0.0.0:8765");
            assertThat(fed.path("api").path("tokenFile").asText()).isEqualTo("/var/run/secrets/ray-federation/token");
            assertValid(federationYaml(objects));
        }

        @Test
        @DisplayName("by default the API token is a generated Secret, mounted into the sidecar and the autoscaler, not ray-head")
        void theApiTokenIsOnByDefaultAndKeptFromRayHead() throws Exception {
            Secret secret = only(rendered("fed-defaults"), Secret.class, "Secret");
            assertThat(secret.getMetadata().getName()).isEqualTo("ray-federation-api-token");
            assertThat(secret.getType()).isEqualTo("Opaque");
            String token = new String(Base64.getDecoder().decode(secret.getData().get("token")), StandardCharsets.UTF_8);
            assertThat(token).as("a random token").hasSize(48).matches("[A-Za-z0-9]+");

            GenericKubernetesResource rc = only(rendered("fed-defaults-raycluster"), GenericKubernetesResource.class, "RayCluster");
            PodSpec pod = headTemplate(rc).getSpec();
            assertThat(pod.getVolumes()).filteredOn(v -> v.getSecret() != null)
                    .singleElement().satisfies(v -> assertThat(v.getSecret().getSecretName()).isEqualTo("ray-federation-api-token"));
            List<Map<String, Object>> autoscalerMounts = rc.get("spec", "autoscalerOptions", "volumeMounts");
            assertThat(autoscalerMounts).as("the autoscaler container runs the plugin")
                    .anySatisfy(m -> assertThat(m).containsEntry("mountPath", "/var/run/secrets/ray-federation"));
            for (Container c : pod.getContainers()) {
                boolean mounted = c.getVolumeMounts().stream().anyMatch(m -> m.getMountPath().equals("/var/run/secrets/ray-federation"));
                assertThat(mounted).as("token mounted into %s (ray-head runs job entrypoints)", c.getName())
                        .isEqualTo(c.getName().equals("ray-federation"));
            }
            JsonNode fed = YAML.readTree(federationYaml(rendered("fed-defaults")));
            assertThat(fed.path("api").path("tokenFile").asText()).isEqualTo("/var/run/secrets/ray-federation/token");
        }

        @Test
        @DisplayName("the NetworkPolicy admits the management port from Prometheus only and never the API port")
        void theNetworkPolicyGuardsManagementAndApiPorts() {
            NetworkPolicy policy = only(rendered("fed-full"), NetworkPolicy.class, "NetworkPolicy");

            assertThat(policy.getSpec().getPodSelector().getMatchLabels())
                    .isEqualTo(Map.of("ray.io/cluster", "prod", "ray.io/node-type", "head"));
            assertThat(policy.getSpec().getPolicyTypes()).containsExactly("Ingress");
            for (NetworkPolicyIngressRule rule : policy.getSpec().getIngress()) {
                boolean management = admits(rule, 9090);
                assertThat(admits(rule, 8765)).as("a rule admits the API port: %s", rule).isFalse();
                if (management) {
                    assertThat(rule.getFrom()).as("peers of the management port").singleElement()
                            .satisfies(p -> assertThat(p.getNamespaceSelector().getMatchLabels())
                                    .containsEntry("kubernetes.io/metadata.name", "monitoring"));
                } else {
                    assertThat(rule.getFrom()).as("Ray's ports stay open to any source").isNullOrEmpty();
                    assertThat(admits(rule, 6379) && admits(rule, 8265) && admits(rule, 10001)).as("Ray's ports: %s", rule).isTrue();
                }
            }
            assertThat(policy.getSpec().getIngress()).as("some rule admits the management port")
                    .anyMatch(r -> admits(r, 9090));
        }

        private static boolean admits(NetworkPolicyIngressRule rule, int port) {
            return rule.getPorts().stream().anyMatch(p -> "TCP".equals(p.getProtocol()) && p.getPort().getIntVal() <= port
                    && port <= (p.getEndPort() == null ? p.getPort().getIntVal() : p.getEndPort()));
        }

        @Test
        @DisplayName("the management Service targets the named port; the ServiceMonitor scrapes /metrics there")
        void theManagementServiceAndServiceMonitorUseTheNamedPort() {
            Service svc = only(rendered("fed-full"), Service.class, "Service");
            assertThat(svc.getSpec().getPorts()).singleElement().satisfies(p -> {
                assertThat(p.getName()).isEqualTo("management");
                assertThat(p.getTargetPort()).isEqualTo(new IntOrString("management"));
                assertThat(p.getPort()).isEqualTo(9090);
            });
            assertThat(svc.getSpec().getSelector()).isEqualTo(Map.of("ray.io/cluster", "prod", "ray.io/node-type", "head"));
            GenericKubernetesResource sm = only(rendered("fed-full"), GenericKubernetesResource.class, "ServiceMonitor");
            List<Map<String, Object>> endpoints = sm.get("spec", "endpoints");
            assertThat(endpoints).singleElement().satisfies(e -> {
                assertThat(e).containsEntry("port", "management").containsEntry("path", "/metrics");
            });
        }

        @ParameterizedTest(name = "{0}")
        @ValueSource(strings = {"fed-defaults", "fed-full", "fed-open-api"})
        @DisplayName("the rendered federation.yaml passes the sidecar's own validator (--check-config --skip-file-checks)")
        void theRenderedFederationConfigPassesTheSidecarsValidator(String render) throws Exception {
            assertValid(federationYaml(rendered(render)));
        }

        @Test
        @DisplayName("the validator used above does refuse a broken federation.yaml, naming the field")
        void theValidatorRefusesABrokenConfig() throws Exception {
            String broken = federationYaml(rendered("fed-full")).replace("\"gpu-l4\"", "\"GPU_L4\"");
            assertThat(broken).contains("GPU_L4");

            CheckResult result = checkConfig(broken);

            assertThat(result.status()).as("exit status; output:\n%s", result.output()).isEqualTo(2);
            assertThat(result.output()).contains("pools[0].name:");
        }

        private void assertValid(String federationYaml) throws Exception {
            CheckResult result = checkConfig(federationYaml);
            assertThat(result.status()).as("exit status of --check-config --skip-file-checks; output:\n%s", result.output())
                    .isZero();
            assertThat(result.output()).contains("configuration is valid");
        }
    }

    // ------------------------------------------------------------------ the member chart

    @Nested
    @DisplayName("ray-federation-member (RBAC)")
    class MemberRbac {

        @Test
        @DisplayName("the namespaced Role allows exactly create/get/list/watch/patch/delete on pods and create on events")
        void theRoleIsExactlyWhatTheSidecarUsesInTheWorkersNamespace() {
            Role role = only(rendered("member-defaults"), Role.class, "Role");

            assertThat(role.getMetadata().getNamespace()).isEqualTo("ray-workers");
            assertThat(rules(role.getRules())).containsExactly(
                    "[] pods: create,delete,get,list,patch,watch", "[] events: create");
        }

        @Test
        @DisplayName("the cluster-wide role only lists and watches nodes and pods")
        void theClusterRoleOnlyReadsNodesAndPods() {
            ClusterRole role = only(rendered("member-defaults"), ClusterRole.class, "ClusterRole");

            assertThat(rules(role.getRules())).containsExactly("[] nodes: list,watch", "[] pods: list,watch");
            assertThat(role.getAggregationRule()).isNull();
        }

        @Test
        @DisplayName("both bindings grant those roles to the member's ServiceAccount only")
        void theBindingsGrantTheRolesToTheServiceAccountOnly() {
            List<HasMetadata> objects = rendered("member-defaults");
            RoleBinding rb = only(objects, RoleBinding.class, "RoleBinding");
            ClusterRoleBinding crb = only(objects, ClusterRoleBinding.class, "ClusterRoleBinding");
            ServiceAccount sa = only(objects, ServiceAccount.class, "ServiceAccount");

            assertThat(rb.getRoleRef().getKind()).isEqualTo("Role");
            assertThat(rb.getRoleRef().getName()).isEqualTo(only(objects, Role.class, "Role").getMetadata().getName());
            assertThat(crb.getRoleRef().getKind()).isEqualTo("ClusterRole");
            assertThat(crb.getRoleRef().getName()).isEqualTo(only(objects, ClusterRole.class, "ClusterRole").getMetadata().getName());
            for (List<Subject> subjects : List.of(rb.getSubjects(), crb.getSubjects())) {
                assertThat(subjects).singleElement().satisfies(s -> {
                    assertThat(s.getKind()).isEqualTo("ServiceAccount");
                    assertThat(s.getName()).isEqualTo(sa.getMetadata().getName());
                    assertThat(s.getNamespace()).isEqualTo("ray-workers");
                });
            }
            assertThat(sa.getAutomountServiceAccountToken()).as("no pod runs as it: no automounted token").isFalse();
        }

        @Test
        @DisplayName("optional objects: a kept Namespace and a service-account-token Secret")
        void theOptionalNamespaceAndTokenSecret() {
            List<HasMetadata> objects = rendered("member-full");
            Namespace ns = only(objects, Namespace.class, "Namespace");
            Secret secret = only(objects, Secret.class, "Secret");

            assertThat(ns.getMetadata().getAnnotations()).containsEntry("helm.sh/resource-policy", "keep");
            assertThat(secret.getType()).isEqualTo("kubernetes.io/service-account-token");
            assertThat(secret.getMetadata().getAnnotations()).containsEntry("kubernetes.io/service-account.name", "ray-federation");
            assertThat(secret.getData()).as("the token is filled in by Kubernetes, never by the chart").isNullOrEmpty();
            assertThat(kinds(rendered("member-defaults"))).doesNotContain("Namespace", "Secret");
        }

        private List<String> rules(List<PolicyRule> rules) {
            List<String> out = new ArrayList<>();
            for (PolicyRule r : rules) {
                assertThat(r.getResourceNames()).as("resourceNames of %s", r).isNullOrEmpty();
                assertThat(r.getNonResourceURLs()).as("nonResourceURLs of %s", r).isNullOrEmpty();
                for (String resource : r.getResources()) {
                    out.add(r.getApiGroups().stream().map(g -> g.isEmpty() ? "" : g).collect(Collectors.joining(",", "[", "]"))
                            + " " + resource + ": " + String.join(",", new TreeSet<>(r.getVerbs())));
                }
            }
            return out;
        }
    }

    // ------------------------------------------------------------------ shared checks

    private static void assertSidecar(String where, Container sidecar, List<Volume> volumes) {
        assertThat(sidecar.getImage()).as("%s: image", where).isEqualTo(sidecarImage());
        assertThat(sidecar.getArgs()).as("%s: args", where).containsExactly("--config", "/etc/ray-federation/federation.yaml");
        List<ContainerPort> ports = sidecar.getPorts();
        assertThat(ports).as("%s: ports (the API stays on loopback)", where).singleElement().satisfies(p -> {
            assertThat(p.getName()).isEqualTo("management");
            assertThat(p.getContainerPort()).isEqualTo(9090);
            assertThat(p.getProtocol()).isEqualTo("TCP");
        });
        assertHttpProbe(where + " startupProbe", sidecar.getStartupProbe(), "/healthz");
        assertHttpProbe(where + " livenessProbe", sidecar.getLivenessProbe(), "/healthz");
        assertHttpProbe(where + " readinessProbe", sidecar.getReadinessProbe(), "/readyz");
        assertRestricted(where + " sidecar", sidecar.getSecurityContext());
        VolumeMount tmp = sidecar.getVolumeMounts().stream().filter(m -> m.getMountPath().equals("/tmp")).findFirst()
                .orElseThrow(() -> new AssertionError(where + ": no writable /tmp for a read-only root file system"));
        assertThat(volumes).as("%s: /tmp volume", where)
                .anyMatch(v -> v.getName().equals(tmp.getName()) && v.getEmptyDir() != null);
        Map<String, String> env = new LinkedHashMap<>();
        sidecar.getEnv().forEach(e -> env.put(e.getName(), e.getValue()));
        assertThat(env.get("RAY_FEDERATION_STATE_FILE")).as("%s: state file on /tmp", where).startsWith("/tmp/");
    }

    private static void assertHttpProbe(String where, Probe probe, String path) {
        assertThat(probe).as(where).isNotNull();
        assertThat(probe.getHttpGet()).as(where).isNotNull();
        assertThat(probe.getHttpGet().getPath()).as(where).isEqualTo(path);
        assertThat(probe.getHttpGet().getPort()).as(where).isEqualTo(new IntOrString("management"));
    }

    /** Pod Security Standards "restricted", read-only root, and the uid the image declares. */
    private static void assertRestricted(String where, SecurityContext sc) {
        assertThat(sc).as(where + " securityContext").isNotNull();
        assertThat(sc.getRunAsNonRoot()).as(where + " runAsNonRoot").isTrue();
        assertThat(sc.getRunAsUser()).as(where + " runAsUser (the image's user)").isEqualTo(1000L);
        assertThat(sc.getReadOnlyRootFilesystem()).as(where + " readOnlyRootFilesystem").isTrue();
        assertThat(sc.getAllowPrivilegeEscalation()).as(where + " allowPrivilegeEscalation").isFalse();
        assertThat(sc.getPrivileged()).as(where + " privileged").isNotEqualTo(Boolean.TRUE);
        assertThat(sc.getCapabilities().getDrop()).as(where + " capabilities.drop").containsExactly("ALL");
        assertThat(sc.getCapabilities().getAdd()).as(where + " capabilities.add").isNullOrEmpty();
        assertThat(sc.getSeccompProfile().getType()).as(where + " seccompProfile").isEqualTo("RuntimeDefault");
    }

    /**
     * fabric8 keeps fields it does not know in {@code additionalProperties} instead of failing: a misspelled field
     * (readOnlyRootFileSystem) would be silently ignored by a cluster. Walks the typed model and fails on any.
     */
    private static void assertNoUnknownFields(Object model, String where) {
        walk(model, where, new IdentityHashMap<>());
    }

    private static void walk(Object o, String path, Map<Object, Boolean> seen) {
        if (o == null || seen.put(o, Boolean.TRUE) != null) {
            return;
        }
        if (o instanceof Collection<?> c) {
            int i = 0;
            for (Object item : c) {
                walk(item, path + "[" + i++ + "]", seen);
            }
            return;
        }
        if (o instanceof Map<?, ?> m) {
            m.forEach((k, v) -> walk(v, path + "." + k, seen));
            return;
        }
        if (!o.getClass().getName().startsWith("io.fabric8.kubernetes.api.model.") || o instanceof IntOrString) {
            return;
        }
        for (Method getter : o.getClass().getMethods()) {
            if (getter.getParameterCount() != 0 || Modifier.isStatic(getter.getModifiers())
                    || !getter.getName().startsWith("get") || getter.getName().equals("getClass")) {
                continue;
            }
            Object value;
            try {
                value = getter.invoke(o);
            } catch (IllegalAccessException | InvocationTargetException e) {
                continue;
            }
            if (getter.getName().equals("getAdditionalProperties")) {
                if (o instanceof GenericKubernetesResource) {
                    continue;
                }
                assertThat((Map<?, ?>) value).as("unknown fields at %s (%s)", path, o.getClass().getSimpleName())
                        .isNullOrEmpty();
            } else if (!getter.getName().equals("getData") && !getter.getName().equals("getStringData")) {
                walk(value, path + "." + Character.toLowerCase(getter.getName().charAt(3)) + getter.getName().substring(4), seen);
            }
        }
    }

    private static Container sidecarOf(List<Container> containers) {
        return containers.stream().filter(c -> c.getName().equals("ray-federation")).findFirst()
                .orElseThrow(() -> new AssertionError("no container ray-federation in " + containers.stream()
                        .map(Container::getName).toList()));
    }

    private static PodTemplateSpec headTemplate(GenericKubernetesResource rayCluster) {
        Object template = rayCluster.get("spec", "headGroupSpec", "template");
        assertThat(template).as("spec.headGroupSpec.template of RayCluster %s", rayCluster.getMetadata().getName()).isNotNull();
        return K8S.convertValue(template, PodTemplateSpec.class);
    }

    private static String sidecarImage() {
        try {
            JsonNode chart = YAML.readTree(FED.resolve("Chart.yaml").toFile());
            return "ray-federation/sidecar:" + chart.path("appVersion").asText();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + FED.resolve("Chart.yaml"), e);
        }
    }

    private static <T extends HasMetadata> T only(List<HasMetadata> objects, Class<T> type, String kind) {
        List<T> found = objects.stream().filter(o -> kind.equals(o.getKind())).map(o -> {
            assertThat(o).as("%s parsed as %s", kind, type.getSimpleName()).isInstanceOf(type);
            return type.cast(o);
        }).toList();
        assertThat(found).as("objects of kind %s among %s", kind, kinds(objects)).hasSize(1);
        return found.get(0);
    }

    private static List<String> kinds(List<HasMetadata> objects) {
        return objects.stream().map(HasMetadata::getKind).toList();
    }

    private static ConfigMap configMap(List<HasMetadata> objects, String name) {
        return objects.stream().filter(o -> o instanceof ConfigMap && o.getMetadata().getName().equals(name))
                .map(ConfigMap.class::cast).findFirst()
                .orElseThrow(() -> new AssertionError("no ConfigMap " + name + " among " + kinds(objects)));
    }

    private static String federationYaml(List<HasMetadata> objects) {
        String text = configMap(objects, "ray-federation-config").getData().get("federation.yaml");
        assertThat(text).as("federation.yaml").isNotBlank();
        return text;
    }

    // ------------------------------------------------------------------ helm and the sidecar jar

    /** The objects of one render (rendered once per test run). */
    private static List<HasMetadata> rendered(String name) {
        return RENDERED.computeIfAbsent(name, n -> parse(n, helmTemplate(RENDERS.get(n))));
    }

    /** Splits helm's output into documents and parses each into fabric8's model (CRDs become generic resources). */
    private static List<HasMetadata> parse(String render, String manifests) {
        List<HasMetadata> out = new ArrayList<>();
        for (String doc : manifests.split("(?m)^---\\s*$")) {
            boolean empty = doc.lines().allMatch(l -> l.isBlank() || l.stripLeading().startsWith("#"));
            if (empty) {
                continue;
            }
            Object parsed = K8S.unmarshal(doc);
            if (!(parsed instanceof HasMetadata o)) {
                fail(render + ": a document is not a Kubernetes object:\n" + doc);
                return out;
            }
            out.add(o);
        }
        return out;
    }

    private static String helmTemplate(List<String> args) {
        Path helm = ROOT.resolve("scripts/lib/helm");
        List<String> command = new ArrayList<>(List.of(helm.toString(), "template"));
        command.addAll(args);
        try {
            Path out = Files.createTempFile("helm-template", ".yaml");
            Path err = Files.createTempFile("helm-template", ".err");
            try {
                Process p = new ProcessBuilder(command).directory(ROOT.toFile())
                        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
                // the first call may build helm from source (minutes on a busy machine)
                if (!p.waitFor(30, TimeUnit.MINUTES)) {
                    p.destroyForcibly();
                    fail(String.join(" ", command) + " did not finish within 30 minutes");
                }
                if (p.exitValue() != 0) {
                    fail(String.join(" ", command) + " failed (exit " + p.exitValue() + "). scripts/lib/helm builds helm "
                            + "from source with Go on first use; without Go, point RAY_FEDERATION_HELM at a helm 3 binary.\n"
                            + Files.readString(err, StandardCharsets.UTF_8));
                }
                return Files.readString(out, StandardCharsets.UTF_8);
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    record CheckResult(int status, String output) {
    }

    /** {@code java -jar <sidecar> --config F --check-config --skip-file-checks}: the sidecar's own validation. */
    private CheckResult checkConfig(String federationYaml) throws Exception {
        Path jar = RepoRoot.sidecarJar();
        SidecarProcess.requireRunnableJar(jar);
        Path config = Files.writeString(Files.createTempFile(dir, "federation", ".yaml"), federationYaml);
        Path log = Files.createTempFile(dir, "check", ".log");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", jar.toString(),
                "--config", config.toString(), "--check-config", "--skip-file-checks")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(2, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            fail("the config check did not finish within 2 minutes");
        }
        return new CheckResult(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }
}
