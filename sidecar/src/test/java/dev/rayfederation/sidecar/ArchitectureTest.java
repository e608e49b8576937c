package dev.rayfederation.sidecar;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The shape of the sidecar's code, read from its sources (see docs/architecture.md). */
class ArchitectureTest {

    private static final Path MAIN = Path.of("src/main/java/dev/rayfederation/sidecar");

    private static List<Path> sources(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"placement", "provision", "registry", "sync", "federation", "config", "metrics", "decisions",
            "antray", "logging", "preflight"})
    @DisplayName("The domain does not depend on the HTTP layer: nothing outside api/ imports it")
    void domainImportsNothingFromApi(String pkg) throws IOException {
        List<String> offenders = new ArrayList<>();
        for (Path file : sources(MAIN.resolve(pkg))) {
            String text = Files.readString(file);
            if (text.contains("dev.rayfederation.sidecar.api.") || text.contains("io.vertx.")) {
                offenders.add(MAIN.relativize(file).toString());
            }
        }
        assertThat(offenders).isEmpty();
    }

    @Test
    @DisplayName("No production class is over 400 lines unless its header says why")
    void classesStaySmall() throws IOException {
        List<String> offenders = new ArrayList<>();
        for (Path file : sources(MAIN)) {
            List<String> lines = Files.readAllLines(file);
            if (lines.size() > 400 && lines.stream().limit(40).noneMatch(l -> l.contains("Longer than 400 lines because"))) {
                offenders.add(MAIN.relativize(file) + " (" + lines.size() + " lines)");
            }
        }
        assertThat(offenders).isEmpty();
    }

    @Test
    @DisplayName("Strategies are listed in one place: every strategy class is in Strategies.ALL")
    void everyStrategyIsListed() throws IOException {
        Path dir = MAIN.resolve("placement/strategy");
        String listing = Files.readString(dir.resolve("Strategies.java"));
        for (Path file : sources(dir)) {
            String name = file.getFileName().toString().replace(".java", "");
            if (name.endsWith("Strategy") && !name.equals("PlacementStrategy")) {
                assertThat(listing).as(name).contains("new " + name + "()");
            }
        }
    }
}
