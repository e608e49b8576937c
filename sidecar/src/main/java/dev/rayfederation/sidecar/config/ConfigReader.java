package dev.rayfederation.sidecar.config;

import dev.rayfederation.k8s.resilience.ResilienceOptions;
import dev.rayfederation.k8s.resources.Quantities;
import dev.rayfederation.k8s.resources.ResourceVector;
import dev.rayfederation.sidecar.config.FederationConfig.Api;
import dev.rayfederation.sidecar.config.FederationConfig.Cluster;
import dev.rayfederation.sidecar.config.FederationConfig.HostPort;
import dev.rayfederation.sidecar.config.FederationConfig.Management;
import dev.rayfederation.sidecar.config.FederationConfig.Pool;
import dev.rayfederation.sidecar.config.FederationConfig.RayCluster;
import dev.rayfederation.sidecar.config.FederationConfig.Timing;
import dev.rayfederation.sidecar.config.FederationConfig.VirtualCluster;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Walks a parsed config file section by section, applies the documented defaults and reports every
 * problem to {@link Problems}. The {@link FederationConfig} it returns is only meaningful when no
 * problem was found.
 */
final class ConfigReader {

    static final HostPort DEFAULT_API_LISTEN = new HostPort("127.0.0.1", 8765);
    static final HostPort DEFAULT_MANAGEMENT_LISTEN = new HostPort("0.0.0.0", 9090);

    private static final List<String> TOP_KEYS =
            List.of("rayCluster", "api", "management", "clusters", "virtualClusters", "pools", "timing", "resilience", "replacement", "antRay", "preflight");

    private final ConfigFiles files;

    ConfigReader(ConfigFiles files) {
        this.files = files;
    }

    FederationConfig read(ConfigNode root) {
        root.rejectUnknownKeys(TOP_KEYS);
        RayCluster rayCluster = rayCluster(root.field("rayCluster"));
        Api api = api(root.field("api"));
        Management management = management(root.field("management"), api);
        List<Cluster> clusters = new ClustersReader(files).read(root.field("clusters"));
        List<VirtualCluster> virtualClusters = virtualClusters(root.field("virtualClusters"));
        List<Pool> pools = new PoolsReader(clusters, virtualClusters).read(root.field("pools"));
        checkMinWorkersFitQuotas(root.field("virtualClusters"), virtualClusters, pools);
        Timing timing = timing(root.field("timing"));
        ResilienceOptions resilience = ResilienceReader.read(root.field("resilience"));
        FederationConfig.Replacement replacement = replacement(root.field("replacement"));
        FederationConfig.AntRay antRay = AntRayReader.read(root.field("antRay"));
        FederationConfig.Preflight preflight = preflight(root.field("preflight"));
        return new FederationConfig(rayCluster, api, management, clusters,
                virtualClusters.stream().filter(v -> v.name() != null).toList(), pools, timing, resilience, replacement,
                antRay, preflight);
    }

    private static RayCluster rayCluster(ConfigNode section) {
        if (!section.isPresent()) {
            section.problem("is required (with name and headAddress)");
            return new RayCluster(null, null);
        }
        if (!section.isMap()) {
            return new RayCluster(null, null);
        }
        section.rejectUnknownKeys(List.of("name", "headAddress"));
        ConfigNode nameField = section.field("name");
        String name = nameField.requiredString()
                .filter(n -> Checks.valid(nameField, Names.checkDnsLabel(n, Names.MAX_NAME_LENGTH)))
                .orElse(null);
        ConfigNode headField = section.field("headAddress");
        String headAddress = headField.requiredString()
                .flatMap(text -> hostPort(headField, text))
                .map(HostPort::toString)
                .orElse(null);
        return new RayCluster(name, headAddress);
    }

    private Api api(ConfigNode section) {
        if (section.isPresent() && !section.isMap()) {
            return new Api(DEFAULT_API_LISTEN, null);
        }
        section.rejectUnknownKeys(List.of("listen", "tokenFile"));
        ConfigNode listenField = section.field("listen");
        Optional<HostPort> listen = listenField.string().flatMap(text -> hostPort(listenField, text));
        ConfigNode tokenField = section.field("tokenFile");
        Path tokenFile = files.readableFile(tokenField).orElse(null);
        if (tokenFile != null && files.checked()) {
            checkTokenIsNotBlank(tokenField, tokenFile);
        }
        HostPort effective = listen.orElse(DEFAULT_API_LISTEN);
        boolean listenValid = !listenField.isPresent() || listen.isPresent();
        if (listenValid && !effective.isLoopback() && !tokenField.isPresent()) {
            tokenField.problem("required when api.listen is not a loopback address (" + effective
                    + "): every caller that can reach it could create and delete workers");
        }
        return new Api(effective, tokenFile);
    }

    /** Reads the token only to see that it is there; its text is never kept nor shown. */
    private static void checkTokenIsNotBlank(ConfigNode field, Path tokenFile) {
        try {
            if (Files.readString(tokenFile).isBlank()) {
                field.problem("the token file is empty: " + tokenFile);
            }
        } catch (IOException e) {
            field.problem("cannot read the token file " + tokenFile + ": " + e.getClass().getSimpleName());
        }
    }

    private static Management management(ConfigNode section, Api api) {
        if (section.isPresent() && !section.isMap()) {
            return new Management(DEFAULT_MANAGEMENT_LISTEN);
        }
        section.rejectUnknownKeys(List.of("listen"));
        ConfigNode listenField = section.field("listen");
        Optional<HostPort> listen = listenField.string().flatMap(text -> hostPort(listenField, text));
        HostPort effective = listen.orElse(DEFAULT_MANAGEMENT_LISTEN);
        boolean listenValid = !listenField.isPresent() || listen.isPresent();
        if (listenValid && clash(effective, api.listen())) {
            listenField.problem("port " + effective.port() + " is already api.listen's (" + api.listen()
                    + "); the two listeners need different ports");
        }
        return new Management(effective);
    }

    private static boolean clash(HostPort a, HostPort b) {
        return a.port() == b.port()
                && (a.host().equals(b.host()) || Addresses.isWildcard(a.host()) || Addresses.isWildcard(b.host()));
    }

    private static Optional<HostPort> hostPort(ConfigNode field, String text) {
        try {
            return Optional.of(Addresses.parse(text));
        } catch (Addresses.Invalid e) {
            field.problem(e.getMessage());
            return Optional.empty();
        }
    }

    /** In file order, with null names for items that are not maps, so indexes match the file. */
    private static List<VirtualCluster> virtualClusters(ConfigNode section) {
        List<VirtualCluster> result = new ArrayList<>();
        Map<String, String> pathByName = new HashMap<>();
        Map<String, String> pathByAntRayId = new HashMap<>();
        for (ConfigNode item : section.items()) {
            if (!item.expectMap()) {
                result.add(new VirtualCluster(null, ResourceVector.EMPTY));
                continue;
            }
            item.rejectUnknownKeys(List.of("name", "quota", "antRay"));
            ConfigNode nameField = item.field("name");
            Optional<String> name = nameField.requiredString();
            boolean unique = name.isPresent() && Checks.valid(nameField, Names.checkObjectName(name.get()))
                    & Checks.unique(nameField, name.get(), pathByName);
            ResourceVector quota = ResourceValues.read(item.field("quota"), ResourceValues.Use.QUOTA);
            // a name already reported as a duplicate is not reported again as a duplicate ant-ray id
            FederationConfig.AntRayCluster antRay = AntRayReader.virtualCluster(item.field("antRay"),
                    unique ? name.get() : null, pathByAntRayId);
            result.add(new VirtualCluster(name.orElse(null), quota, antRay));
        }
        return result;
    }

    /**
     * A virtual cluster's quota must hold the minWorkers of all its pools together: Ray keeps asking for
     * them, and each ask would be refused forever. Pools whose one worker already does not fit are
     * reported on their own and left out here.
     */
    private static void checkMinWorkersFitQuotas(ConfigNode section, List<VirtualCluster> virtualClusters, List<Pool> pools) {
        for (int i = 0; i < virtualClusters.size(); i++) {
            VirtualCluster vc = virtualClusters.get(i);
            if (vc.name() == null || vc.quota().isEmpty()) {
                continue;
            }
            List<Pool> members = pools.stream()
                    .filter(p -> vc.name().equals(p.virtualCluster()) && p.minWorkers() > 0)
                    .filter(p -> fitsOnce(p.resources(), vc.quota()))
                    .toList();
            for (Map.Entry<String, Long> limit : vc.quota().milli().entrySet()) {
                ResourceVector need = ResourceVector.EMPTY;
                List<String> parts = new ArrayList<>();
                for (Pool pool : members) {
                    ResourceVector poolNeed = pool.resources().times(pool.minWorkers());
                    if (poolNeed.get(limit.getKey()) > 0) {
                        need = need.plus(poolNeed);
                        parts.add(pool.name() + ": " + pool.minWorkers() + " x "
                                + Quantities.fromMilli(pool.resources().get(limit.getKey())));
                    }
                }
                long total = need.get(limit.getKey());
                if (total > limit.getValue()) {
                    section.items().get(i).field("quota").field(limit.getKey()).problem(
                            "the minWorkers of this virtual cluster's pools need " + Quantities.fromMilli(total)
                                    + " (" + String.join(", ", parts) + "), more than this quota of "
                                    + Quantities.fromMilli(limit.getValue()));
                }
            }
        }
    }

    /** True when one worker needs no more of any quota-limited resource than the quota (absent: unlimited). */
    static boolean fitsOnce(ResourceVector worker, ResourceVector quota) {
        return quota.milli().entrySet().stream().allMatch(limit -> worker.get(limit.getKey()) <= limit.getValue());
    }

    private static FederationConfig.Replacement replacement(ConfigNode section) {
        FederationConfig.Replacement d = FederationConfig.Replacement.defaults();
        if (!section.isPresent()) {
            return d;
        }
        if (!section.isMap()) {
            section.problem("must be a map");
            return d;
        }
        section.rejectUnknownKeys(List.of("unschedulableGrace", "startTimeout", "elasticStartTimeout",
                "creatingTimeout", "backoffInitial", "backoffMax", "checkInterval"));
        FederationConfig.Replacement r = new FederationConfig.Replacement(
                duration(section.field("unschedulableGrace"), d.unschedulableGrace()),
                duration(section.field("startTimeout"), d.startTimeout()),
                duration(section.field("elasticStartTimeout"), d.elasticStartTimeout()),
                duration(section.field("creatingTimeout"), d.creatingTimeout()),
                duration(section.field("backoffInitial"), d.backoffInitial()),
                duration(section.field("backoffMax"), d.backoffMax()),
                duration(section.field("checkInterval"), d.checkInterval()));
        if (r.backoffMax().compareTo(r.backoffInitial()) < 0) {
            section.field("backoffMax").problem("must be >= backoffInitial (" + Durations.format(r.backoffInitial()) + ")");
        }
        return r;
    }

    private static FederationConfig.Preflight preflight(ConfigNode section) {
        FederationConfig.Preflight d = FederationConfig.Preflight.defaults();
        if (!section.isPresent() || !section.isMap()) {
            return d; // a section that is not a map is reported by the loader
        }
        section.rejectUnknownKeys(List.of("enabled", "enforce", "interval", "retryInterval", "timeout", "port", "image",
                "firstVerdictWait"));
        boolean enabled = section.field("enabled").bool().orElse(d.enabled());
        boolean enforce = section.field("enforce").bool().orElse(d.enforce());
        Duration interval = duration(section.field("interval"), d.interval());
        Duration retryInterval = duration(section.field("retryInterval"), d.retryInterval());
        Duration timeout = duration(section.field("timeout"), d.timeout());
        ConfigNode waitField = section.field("firstVerdictWait");
        Duration firstVerdictWait = waitField.string().flatMap(Durations::parse).filter(Duration::isZero)
                .orElseGet(() -> duration(waitField, d.firstVerdictWait())); // 0s allowed: hold no member back
        ConfigNode portField = section.field("port");
        int port = portField.integer().orElse(d.port());
        if (port < 1 || port > 65535) {
            portField.problem("must be a TCP port from 1 to 65535 (got " + port + ")");
        }
        ConfigNode imageField = section.field("image");
        String image = imageField.string().orElse(null);
        if (image != null && (image.isBlank() || image.chars().anyMatch(Character::isWhitespace))) {
            imageField.problem("must be an image reference without spaces, such as rayproject/ray:2.60.0 (got '" + image + "')");
        }
        if (timeout.compareTo(Duration.ofSeconds(1)) < 0) {
            section.field("timeout").problem("must be at least 1s (got " + Durations.format(timeout) + ")");
        }
        if (interval.compareTo(timeout) < 0) {
            section.field("interval").problem("must be at least timeout (" + Durations.format(timeout) + "): a member "
                    + "is checked again only once its last probe is over");
        }
        return new FederationConfig.Preflight(enabled, enforce, interval, retryInterval, timeout, port, image,
                firstVerdictWait);
    }

    private static Timing timing(ConfigNode section) {
        Timing defaults = Timing.defaults();
        if (!section.isPresent() || !section.isMap()) {
            return defaults;
        }
        section.rejectUnknownKeys(List.of("memberStartTimeout", "memberRetryInterval", "requestTimeout"));
        return new Timing(
                duration(section.field("memberStartTimeout"), defaults.memberStartTimeout()),
                duration(section.field("memberRetryInterval"), defaults.memberRetryInterval()),
                duration(section.field("requestTimeout"), defaults.requestTimeout()));
    }

    /**
     * A duration with a unit ("500ms", "10s", "2m"); the fallback when absent or not a duration, and zero (reported)
     * when written as 0.
     */
    static Duration duration(ConfigNode field, Duration fallback) {
        if (field.json().isNumber()) {
            field.problem("must be a duration with a unit, such as 500ms, 10s or 2m (got " + field.json().asText() + ")");
            return fallback;
        }
        Optional<String> text = field.string();
        if (text.isEmpty()) {
            return fallback;
        }
        Optional<Duration> duration = Durations.parse(text.get());
        if (duration.isEmpty()) {
            field.problem("must be a duration such as 500ms, 10s or 2m (got '" + text.get() + "')");
            return fallback;
        }
        if (duration.get().isZero()) {
            field.problem("must be longer than 0");
        }
        return duration.get();
    }
}
