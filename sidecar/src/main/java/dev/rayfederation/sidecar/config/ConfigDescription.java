package dev.rayfederation.sidecar.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.rayfederation.k8s.resilience.ResilienceOptions;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.sidecar.config.FederationConfig.Cluster;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;
import dev.rayfederation.sidecar.config.FederationConfig.VirtualCluster;

import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The effective configuration (defaults applied) as YAML for the start-up log. It is itself a valid
 * config file that loads into the same {@link FederationConfig} (apart from redacted values): absent
 * keys keep their documented meaning (no kubeconfig: in-cluster credentials; no tokenFile: no token;
 * an empty quota: unlimited). It names the token and kubeconfig files but never holds their contents,
 * and hides the values of environment variables in pod templates, where people tend to put credentials.
 */
final class ConfigDescription {

    static final String REDACTED = "<redacted>";

    private static final YAMLMapper YAML = YAMLMapper.builder()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .enable(YAMLGenerator.Feature.INDENT_ARRAYS_WITH_INDICATOR)
            .build();

    private ConfigDescription() {
    }

    static String describe(FederationConfig config) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("rayCluster", ordered("name", config.rayCluster().name(),
                "headAddress", config.rayCluster().headAddress()));
        root.put("api", ordered("listen", config.api().listen().toString(),
                "tokenFile", config.api().tokenFile() == null ? null : config.api().tokenFile().toString()));
        root.put("management", ordered("listen", config.management().listen().toString()));
        root.put("clusters", config.clusters().stream().map(ConfigDescription::cluster).toList());
        root.put("virtualClusters", config.virtualClusters().stream()
                .map(vc -> virtualCluster(vc, config.antRay().enabled())).toList());
        root.put("pools", config.pools().stream().map(ConfigDescription::pool).toList());
        root.put("timing", ordered(
                "memberStartTimeout", Durations.format(config.timing().memberStartTimeout()),
                "memberRetryInterval", Durations.format(config.timing().memberRetryInterval()),
                "requestTimeout", Durations.format(config.timing().requestTimeout())));
        root.put("resilience", resilience(config.resilience()));
        FederationConfig.Replacement r = config.replacement();
        root.put("replacement", ordered(
                "unschedulableGrace", Durations.format(r.unschedulableGrace()),
                "startTimeout", Durations.format(r.startTimeout()),
                "elasticStartTimeout", Durations.format(r.elasticStartTimeout()),
                "creatingTimeout", Durations.format(r.creatingTimeout()),
                "backoffInitial", Durations.format(r.backoffInitial()),
                "backoffMax", Durations.format(r.backoffMax()),
                "checkInterval", Durations.format(r.checkInterval())));
        FederationConfig.AntRay antRay = config.antRay();
        if (antRay.enabled()) {
            root.put("antRay", ordered("enabled", true, "dashboardUrl", antRay.dashboardUrl().toString(),
                    "requestTimeout", Durations.format(antRay.requestTimeout()),
                    "retryInterval", Durations.format(antRay.retryInterval()),
                    "shrinkWait", Durations.format(antRay.shrinkWait())));
        }
        FederationConfig.Preflight p = config.preflight();
        root.put("preflight", ordered("enabled", p.enabled(), "enforce", p.enforce(),
                "interval", Durations.format(p.interval()), "retryInterval", Durations.format(p.retryInterval()),
                "timeout", Durations.format(p.timeout()), "port", p.port(), "image", p.image()));
        try {
            return YAML.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Map<String, Object> resilience(ResilienceOptions r) {
        ResilienceOptions.BreakerSettings b = r.breaker();
        return ordered(
                "breaker", ordered(
                        "slidingWindowSize", b.slidingWindowSize(),
                        "minimumCalls", b.minimumCalls(),
                        "failureRateThreshold", b.failureRateThreshold(),
                        "slowCallRateThreshold", b.slowCallRateThreshold(),
                        "slowCallDuration", Durations.format(b.slowCallDuration()),
                        "waitInOpenState", Durations.format(b.waitInOpenState()),
                        "halfOpenCalls", b.halfOpenCalls()),
                "bulkhead", ordered(
                        "maxConcurrentCalls", r.bulkhead().maxConcurrentCalls(),
                        "maxWait", Durations.format(r.bulkhead().maxWait())),
                "rateLimit", ordered(
                        "requestsPerSecond", r.rateLimit().requestsPerSecond(),
                        "maxWait", Durations.format(r.rateLimit().maxWait())),
                "retries", ordered(
                        "maxAttempts", r.retries().maxAttempts(),
                        "initialBackoff", Durations.format(r.retries().initialBackoff()),
                        "maxBackoff", Durations.format(r.retries().maxBackoff()),
                        "maxRetryAfter", Durations.format(r.retries().maxRetryAfter())),
                "probe", ordered("interval", Durations.format(r.probe().interval()),
                        "timeout", Durations.format(r.probe().timeout()),
                        "failuresToUnreachable", r.probe().failuresToUnreachable()),
                "holdOut", ordered("afterFlaps", r.holdOut().afterFlaps(), "initial", Durations.format(r.holdOut().initial()),
                        "max", Durations.format(r.holdOut().max())),
                "create", ordered("attemptTimeout", Durations.format(r.create().attemptTimeout()),
                        "deadline", Durations.format(r.create().deadline())));
    }

    private static Map<String, Object> cluster(Cluster c) {
        return ordered(
                "name", c.name(),
                "cloud", c.cloud(),
                "region", c.region(),
                "zone", c.zone(),
                "kubeconfig", c.kubeconfig() == null ? null : c.kubeconfig().toString(),
                "context", c.context(),
                "namespace", c.namespace(),
                "priority", c.priority(),
                "price", c.price(),
                "elastic", c.elastic(),
                "capacity", c.capacity().name().toLowerCase(Locale.ROOT),
                "staticCapacity", quantities(c.staticCapacity()),
                "gpuResourceName", c.gpuResourceName());
    }

    /** With its ant-ray mapping when the integration is on, or when it is not the default one. */
    private static Map<String, Object> virtualCluster(VirtualCluster vc, boolean antRayEnabled) {
        Map<String, Object> out = ordered("name", vc.name(), "quota", quantities(vc.quota()));
        FederationConfig.AntRayCluster a = vc.antRay();
        if (antRayEnabled || !a.equals(new FederationConfig.AntRayCluster(vc.name(), false))) {
            out.put("antRay", ordered("id", a.id(), "divisible", a.divisible()));
        }
        return out;
    }

    private static Map<String, Object> pool(Pool p) {
        return ordered(
                "name", p.name(),
                "virtualCluster", p.virtualCluster(),
                "rayNodeType", p.rayNodeType(),
                "resources", quantities(p.resources()),
                "rayResources", p.rayResources(),
                "labels", p.labels(),
                "minWorkers", p.minWorkers(),
                "maxWorkers", p.maxWorkers(),
                "strategy", p.strategy().name(),
                "clusters", p.clusters(),
                "template", redactEnvValues(p.template()),
                "overrides", redactEnvValues(p.overrides()));
    }

    private static Map<String, String> quantities(ResourceVector v) {
        return v == null ? Map.of() : v.toQuantities();
    }

    /** A copy of a pod template in which every {@code env[].value} reads {@value #REDACTED}. */
    static Object redactEnvValues(Object value) {
        if (value instanceof Map<?, ?> map) {
            Map<String, Object> copy = new LinkedHashMap<>();
            map.forEach((k, v) -> copy.put(String.valueOf(k),
                    "env".equals(k) && v instanceof List<?> env ? redactEnvList(env) : redactEnvValues(v)));
            return copy;
        }
        if (value instanceof List<?> list) {
            List<Object> copy = new ArrayList<>();
            list.forEach(item -> copy.add(redactEnvValues(item)));
            return copy;
        }
        return value;
    }

    private static List<Object> redactEnvList(List<?> env) {
        List<Object> copy = new ArrayList<>();
        for (Object item : env) {
            if (item instanceof Map<?, ?> var) {
                Map<String, Object> redacted = new LinkedHashMap<>();
                var.forEach((k, v) -> redacted.put(String.valueOf(k), "value".equals(k) ? REDACTED : redactEnvValues(v)));
                copy.add(redacted);
            } else {
                copy.add(item);
            }
        }
        return copy;
    }

    /** A map of the given key/value pairs in that order, leaving out null values. */
    private static Map<String, Object> ordered(Object... keysAndValues) {
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            if (keysAndValues[i + 1] != null) {
                map.put((String) keysAndValues[i], keysAndValues[i + 1]);
            }
        }
        return map;
    }
}
