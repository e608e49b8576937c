package dev.rayfederation.sidecar.config;

/**
 * Whether loading a config also checks the files it names (member kubeconfigs, the API token file).
 *
 * <p>{@link #REQUIRE_READABLE} is what the sidecar uses at start-up: each named file must be a readable regular
 * file, and the token file must not be empty. {@link #SKIP} validates everything else exactly the same way and
 * only resolves the paths: for checking a config on a machine where those files do not exist, such as a config
 * rendered by the Helm chart, whose kubeconfigs and token only appear once the pod mounts its Secrets.
 */
public enum FileChecks {
    /** Every named file must exist, be a regular file and be readable; the token file must not be empty. */
    REQUIRE_READABLE,
    /** Named files are resolved to absolute paths but never opened nor checked. */
    SKIP
}
