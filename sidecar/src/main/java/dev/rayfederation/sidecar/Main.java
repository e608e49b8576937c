package dev.rayfederation.sidecar;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.member.MemberClusterOptions;
import dev.rayfederation.k8s.member.MemberClusterSpec;
import dev.rayfederation.k8s.member.MemberClusters;
import dev.rayfederation.k8s.resilience.BreakerRegistry;
import dev.rayfederation.sidecar.api.ApiServer;
import dev.rayfederation.sidecar.api.ManagementServer;
import dev.rayfederation.sidecar.config.ConfigException;
import dev.rayfederation.sidecar.config.ConfigLoader;
import dev.rayfederation.sidecar.config.CurrentConfig;
import dev.rayfederation.sidecar.config.FederationConfig;
import dev.rayfederation.sidecar.metrics.FederationMetrics;
import dev.rayfederation.sidecar.federation.Federation;
import dev.rayfederation.sidecar.logging.LogSettings;
import dev.rayfederation.sidecar.sync.StateStore;
import dev.rayfederation.sidecar.registry.NodeRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Entry point: {@code java -jar ray-federation-sidecar-all.jar --config FILE} (or RAY_FEDERATION_CONFIG).
 * Wires everything by constructor. An invalid config prints every problem and exits 2 before any port opens.
 */
public final class Main {

    private static final Logger LOG;

    static {
        // the log format and levels come from the environment and must be set before the first logger exists
        try {
            LogSettings.of(System.getenv()).apply();
        } catch (IllegalArgumentException e) {
            System.err.println("ray-federation: " + e.getMessage());
            System.exit(2);
        }
        LOG = LoggerFactory.getLogger(Main.class);
    }

    private final FederationConfig config;
    private final Map<String, MemberCluster> members = new LinkedHashMap<>();
    private Vertx vertx;
    private ScheduledExecutorService scheduler;
    private ManagementServer management;
    private Federation federation;

    private Main(FederationConfig config) {
        this.config = config;
    }

    public static void main(String[] args) {
        String configPath = System.getenv("RAY_FEDERATION_CONFIG");
        boolean checkOnly = false;
        String stateFile = System.getenv("RAY_FEDERATION_STATE_FILE");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--config" -> {
                    if (i + 1 >= args.length) {
                        exit(2, "--config needs a file path");
                    }
                    configPath = args[++i];
                }
                case "--check-config" -> checkOnly = true;
                case "--skip-file-checks" -> System.exit(dev.rayfederation.sidecar.config.ConfigCheck
                        .withoutFileChecks(args, System.getenv(), System.out, System.err));
                case "--state-file" -> {
                    if (i + 1 >= args.length) {
                        exit(2, "--state-file needs a file path");
                    }
                    stateFile = args[++i];
                }
                case "--help", "-h" -> {
                    System.out.println("usage: ray-federation-sidecar --config FILE [--state-file FILE] [--check-config [--skip-file-checks]]\n"
                            + "  --config FILE     the federation config (or env RAY_FEDERATION_CONFIG); watched, and\n"
                            + "                    applied live when it changes (SIGHUP: read it now)\n"
                            + "  --state-file FILE where to keep last known nodes and pending terminations across\n"
                            + "                    restarts during a member outage (or env RAY_FEDERATION_STATE_FILE)\n"
                            + "  --check-config    validate the config, print the effective config, exit\n"
                            + "  --skip-file-checks  with --check-config: do not look for the kubeconfigs and token file\n"
                            + "                    (they exist only where the sidecar runs)\n"
                            + "environment: RAY_FEDERATION_LOG_FORMAT=text|json (json: one object per line on stderr),\n"
                            + "  RAY_FEDERATION_LOG_LEVEL=info,dev.rayfederation.k8s=debug (default and per-logger levels)");
                    return;
                }
                default -> exit(2, "unknown argument '" + args[i] + "' (try --help)");
            }
        }
        if (configPath == null) {
            exit(2, "no configuration: pass --config FILE or set RAY_FEDERATION_CONFIG");
        }
        FederationConfig config;
        try {
            config = ConfigLoader.load(Path.of(configPath));
        } catch (ConfigException e) {
            StringBuilder sb = new StringBuilder("invalid configuration " + configPath + " (" + e.problems().size()
                    + (e.problems().size() == 1 ? " problem" : " problems") + "):");
            e.problems().forEach(p -> sb.append("\n  - ").append(p));
            exit(2, sb.toString());
            return;
        } catch (IOException e) {
            exit(2, "cannot read configuration " + configPath + ": " + e.getMessage());
            return;
        }
        String token = readToken(config);
        if (checkOnly) {
            System.out.println(ConfigLoader.describe(config));
            System.out.println("configuration is valid");
            return;
        }
        LOG.info("effective configuration:\n{}", ConfigLoader.describe(config));
        new Main(config).run(token, stateFile == null ? null : Path.of(stateFile), Path.of(configPath));
    }

    private static String readToken(FederationConfig config) {
        Path file = config.api().tokenFile();
        if (file == null) {
            return null;
        }
        try {
            String token = Files.readString(file, StandardCharsets.UTF_8).trim();
            if (token.isEmpty()) {
                exit(2, "api.tokenFile: " + file + " is empty");
            }
            return token;
        } catch (IOException e) {
            exit(2, "api.tokenFile: cannot read " + file + ": " + e.getMessage());
            return null;
        }
    }

    private void run(String token, Path stateFile, Path configFile) {
        scheduler = Executors.newScheduledThreadPool(1, r -> {
            Thread t = new Thread(r, "ray-federation-retries");
            t.setDaemon(true);
            return t;
        });
        BreakerRegistry breakers = new BreakerRegistry();
        for (FederationConfig.Cluster c : config.clusters()) {
            members.put(c.name(), MemberClusters.connect(c.memberSpec(), options(c), breakers));
        }
        NodeRegistry registry = new NodeRegistry();
        CurrentConfig current = new CurrentConfig(config);
        FederationMetrics metrics = new FederationMetrics().observe(current, registry, members);
        metrics.observeBreakers(breakers);
        // members added by a reload get the settings that cannot change live, so those of start-up
        Federation federation = new Federation(current, members, registry, scheduler, metrics, Clock.systemUTC(),
                c -> MemberClusters.connect(c.memberSpec(), options(c), breakers));
        if (stateFile != null) {
            federation.restore(new StateStore(stateFile));
        }
        federation.watch(configFile).reloadOnHangup();
        this.federation = federation;
        metrics.observeBackoff(federation::backoffs);
        vertx = Vertx.vertx();
        ApiServer api = new ApiServer(vertx, federation, federation, token, metrics);
        management = new ManagementServer(vertx, config.management().listen(), federation, metrics::scrape);
        Runtime.getRuntime().addShutdownHook(new Thread(this::shutdown, "ray-federation-shutdown"));
        try {
            Future.all(api.listen(), management.listen()).await(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.error("cannot open listeners (api {}, management {}): {}", config.api().listen(),
                    config.management().listen(), e.getMessage());
            System.exit(1);
        }
        LOG.info("node-provider API on http://{} ({}), management on http://{}", config.api().listen(),
                token == null ? "no token: loopback only" : "bearer token required", config.management().listen());
        federation.start();
    }

    private MemberClusterOptions options(FederationConfig.Cluster c) {
        return MemberClusterOptions.defaults(config.rayCluster().name())
                .withStartTimeout(config.timing().memberStartTimeout())
                .withRetryInterval(config.timing().memberRetryInterval())
                .withGpuResourceName(c.gpuResourceName())
                .withResilience(config.resilience());
    }

    /** Ordered: readiness false, stop listening, end the probes (deleting their pods), close members. */
    private void shutdown() {
        LOG.info("shutting down");
        if (management != null) {
            management.shuttingDown();
        }
        try {
            if (vertx != null) {
                vertx.close().await(10, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            LOG.warn("closing Vert.x: {}", e.getMessage());
        }
        if (federation != null) {
            federation.stopProbes();
        }
        (federation == null ? members : federation.members()).values().forEach(m -> {
            try {
                m.close();
            } catch (RuntimeException e) {
                LOG.warn("closing member {}: {}", m.name(), e.getMessage());
            }
        });
        if (federation != null) {
            federation.flush();
        }
        if (scheduler != null) {
            scheduler.shutdownNow();
        }
    }

    private static void exit(int code, String message) {
        System.err.println("ray-federation: " + message);
        System.exit(code);
    }
}
