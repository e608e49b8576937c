package dev.rayfederation.sidecar.config;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code --check-config --skip-file-checks}: validates a config file without looking at the files it names
 * (member kubeconfigs, the API token file), prints the effective configuration and exits. Meant for configs
 * checked away from where they run, such as the one the Helm chart renders: its kubeconfigs and token only exist
 * once the pod mounts its Secrets. {@code --skip-file-checks} implies {@code --check-config}: the sidecar never
 * starts without its files.
 *
 * <p>Reads the same arguments as the sidecar's {@code main} ({@code --config FILE} or env
 * {@code RAY_FEDERATION_CONFIG}; {@code --check-config}; {@code --state-file FILE}, which it ignores) and answers
 * the same way: every problem with its field path and exit status 2, or the effective config and status 0.
 */
public final class ConfigCheck {

    /** The command-line switch. */
    public static final String SKIP_FILE_CHECKS = "--skip-file-checks";

    private ConfigCheck() {
    }

    /**
     * Runs the check.
     *
     * @param args the sidecar's command-line arguments (including {@value #SKIP_FILE_CHECKS})
     * @param env  the environment ({@code RAY_FEDERATION_CONFIG} is read when there is no {@code --config})
     * @return the process exit status: 0 valid, 2 invalid or unusable arguments
     */
    public static int withoutFileChecks(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        String configPath = env.get("RAY_FEDERATION_CONFIG");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--config" -> {
                    if (i + 1 >= args.length) {
                        return fail(err, "--config needs a file path");
                    }
                    configPath = args[++i];
                }
                case "--state-file" -> {
                    if (i + 1 >= args.length) {
                        return fail(err, "--state-file needs a file path");
                    }
                    i++;
                }
                case "--check-config", SKIP_FILE_CHECKS -> {
                    // --skip-file-checks implies --check-config
                }
                default -> {
                    return fail(err, "unknown argument '" + args[i] + "' (try --help)");
                }
            }
        }
        if (configPath == null) {
            return fail(err, "no configuration: pass --config FILE or set RAY_FEDERATION_CONFIG");
        }
        FederationConfig config;
        try {
            config = ConfigLoader.load(Path.of(configPath), FileChecks.SKIP);
        } catch (ConfigException e) {
            StringBuilder sb = new StringBuilder("invalid configuration " + configPath + " (" + e.problems().size()
                    + (e.problems().size() == 1 ? " problem" : " problems") + "):");
            e.problems().forEach(p -> sb.append("\n  - ").append(p));
            return fail(err, sb.toString());
        } catch (IOException | RuntimeException e) {
            return fail(err, "cannot read configuration " + configPath + ": " + e.getMessage());
        }
        out.println(ConfigLoader.describe(config));
        out.println("configuration is valid (" + SKIP_FILE_CHECKS + ": the kubeconfigs and token file it names "
                + "were not looked at; they must be readable where the sidecar runs)");
        return 0;
    }

    private static int fail(PrintStream err, String message) {
        err.println("ray-federation: " + message);
        return 2;
    }
}
