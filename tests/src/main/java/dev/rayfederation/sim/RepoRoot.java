package dev.rayfederation.sim;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the ray-federation checkout: the nearest directory (from the working directory up) with pom.xml and sidecar/. */
public final class RepoRoot {

    /** Where {@code mvn package} leaves the sidecar's runnable jar, relative to the repo root. */
    public static final String SIDECAR_JAR = "sidecar/target/ray-federation-sidecar-all.jar";

    private RepoRoot() {
    }

    public static Path find() {
        Path start = Path.of("").toAbsolutePath();
        for (Path dir = start; dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("pom.xml")) && Files.isDirectory(dir.resolve("sidecar"))) {
                return dir;
            }
        }
        throw new IllegalStateException("cannot find the ray-federation repository (a directory with pom.xml and "
                + "sidecar/) from " + start + " upwards; pass -Dsidecar.jar=PATH instead");
    }

    /** System property {@code sidecar.jar} if set, else {@value #SIDECAR_JAR} under the repo root. */
    public static Path sidecarJar() {
        String property = System.getProperty("sidecar.jar");
        return (property != null && !property.isBlank() ? Path.of(property) : find().resolve(SIDECAR_JAR))
                .toAbsolutePath().normalize();
    }
}
