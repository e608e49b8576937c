package dev.rayfederation.sidecar.config;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Files a config names (kubeconfigs, the API token file): relative paths are resolved against the
 * config file's directory, and each must be a readable regular file when the sidecar starts
 * (unless {@code checks} is {@link FileChecks#SKIP}).
 *
 * @param baseDir directory that relative paths start from
 * @param checks  whether named files must exist and be readable
 */
record ConfigFiles(Path baseDir, FileChecks checks) {

    /** Whether the files named must exist and be readable. */
    boolean checked() {
        return checks == FileChecks.REQUIRE_READABLE;
    }

    /**
     * The absolute path of the file named at {@code node}, if it is readable (or, with {@link FileChecks#SKIP},
     * if it is a valid path); empty (problem reported) otherwise.
     */
    Optional<Path> readableFile(ConfigNode node) {
        Optional<String> text = node.string();
        if (text.isEmpty()) {
            return Optional.empty();
        }
        if (text.get().isBlank()) {
            node.problem("must not be empty (omit the key instead)");
            return Optional.empty();
        }
        Path path;
        try {
            path = baseDir.resolve(text.get()).toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            node.problem("'" + text.get() + "' is not a valid path: " + e.getReason());
            return Optional.empty();
        }
        if (!checked()) {
            return Optional.of(path);
        }
        if (!Files.exists(path)) {
            node.problem("file not found: " + path);
        } else if (!Files.isRegularFile(path)) {
            node.problem("not a regular file: " + path);
        } else if (!Files.isReadable(path)) {
            node.problem("file not readable by this process: " + path);
        } else {
            return Optional.of(path);
        }
        return Optional.empty();
    }
}
