package dev.rayfederation.sidecar.config;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Loads the sidecar's configuration file into a {@link FederationConfig}: parses the YAML,
 * applies the defaults, and checks everything, collecting every problem with its field path
 * ({@code pools[1].resources.GPU: must be >= 0}) before giving up, so that one run shows them all.
 *
 * <p>Relative paths in the file (kubeconfigs, the token file) are resolved against the file's directory.
 * Unknown keys are errors at every level, except inside pool templates and overrides, which are pod
 * templates checked by {@link dev.rayfederation.k8s.render.WorkerPodRenderer#validateTemplate}.
 */
public final class ConfigLoader {

    private static final String EXPECTED = "expected a YAML map with rayCluster, clusters and pools";

    private ConfigLoader() {
    }

    /**
     * Reads and checks the config file at {@code file}.
     *
     * @throws ConfigException listing every problem, in the order of the file
     * @throws IOException     when the file cannot be read at all
     */
    public static FederationConfig load(Path file) throws ConfigException, IOException {
        return load(file, FileChecks.REQUIRE_READABLE);
    }

    /**
     * Reads and checks the config file at {@code file}; with {@link FileChecks#SKIP} the kubeconfigs and the
     * token file it names are not looked at (everything else is checked as at start-up).
     *
     * @throws ConfigException listing every problem, in the order of the file
     * @throws IOException     when the file cannot be read at all
     */
    public static FederationConfig load(Path file, FileChecks fileChecks) throws ConfigException, IOException {
        Path absolute = file.toAbsolutePath().normalize();
        String text = Files.readString(absolute);
        return parse(text, absolute.getParent(), absolute.toString(), fileChecks);
    }

    /**
     * Checks config text that did not come from a file.
     *
     * @param baseDir where relative kubeconfig and token-file paths start (null: the working directory)
     * @throws ConfigException listing every problem, in the order of the text
     */
    public static FederationConfig parse(String yaml, Path baseDir) throws ConfigException {
        return parse(yaml, baseDir, "config", FileChecks.REQUIRE_READABLE);
    }

    /**
     * Checks config text that did not come from a file, looking at the files it names or not.
     *
     * @param baseDir    where relative kubeconfig and token-file paths start (null: the working directory)
     * @param fileChecks whether kubeconfigs and the token file must exist and be readable
     * @throws ConfigException listing every problem, in the order of the text
     */
    public static FederationConfig parse(String yaml, Path baseDir, FileChecks fileChecks) throws ConfigException {
        return parse(yaml, baseDir, "config", fileChecks);
    }

    /**
     * The effective configuration, defaults included, as YAML for the start-up log. File paths are shown;
     * file contents (the API token, kubeconfigs) never are, nor environment variable values in templates.
     */
    public static String describe(FederationConfig config) {
        return ConfigDescription.describe(config);
    }

    private static FederationConfig parse(String yaml, Path baseDir, String source, FileChecks fileChecks)
            throws ConfigException {
        Path base = (baseDir == null ? Path.of("") : baseDir).toAbsolutePath();
        Problems problems = new Problems();
        JsonNode root;
        try {
            root = YamlTree.read(yaml == null ? "" : yaml, problems);
        } catch (YamlTree.SyntaxError e) {
            throw new ConfigException(List.of(source + ": is not valid YAML: " + e.getMessage()));
        }
        if (root.isMissingNode() || root.isNull()) {
            throw new ConfigException(List.of(source + ": is empty (" + EXPECTED + ")"));
        }
        if (!root.isObject()) {
            throw new ConfigException(List.of(source + ": must be a map at the top, not "
                    + ConfigNode.root(root, problems).describeType() + " (" + EXPECTED + ")"));
        }
        FederationConfig config = new ConfigReader(new ConfigFiles(base, fileChecks)).read(ConfigNode.root(root, problems));
        if (!problems.isEmpty()) {
            throw new ConfigException(problems.inDocumentOrder(root));
        }
        return config;
    }
}
