package dev.rayfederation.sim.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The figures of one benchmark scenario, written as JSON: {@code {"scenario", "parameters", "figures": [Figure]}}.
 * Figures produced by another program (the Python driver) in the same shape are merged in as they are.
 */
public final class Results {

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final String scenario;
    private final Map<String, Object> parameters = new LinkedHashMap<>();
    private final List<Object> figures = new ArrayList<>();

    public Results(String scenario) {
        this.scenario = scenario;
    }

    public Results parameter(String key, Object value) {
        parameters.put(key, value);
        return this;
    }

    public void add(Figure figure) {
        figures.add(figure);
        System.out.printf("bench: %-45s %s %s%n", figure.id(), figure.runs(), figure.unit());
    }

    /** Adds the figures of a JSON file written by another driver ({@code {"figures": [...]}}). */
    public void addAllFrom(Path file) {
        try {
            JsonNode root = JSON.readTree(file.toFile());
            for (JsonNode f : root.path("figures")) {
                figures.add(f);
                System.out.printf("bench: %-45s %s %s%n", f.path("id").asText(), f.path("runs"), f.path("unit").asText());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read figures from " + file, e);
        }
    }

    public void write(Path file) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("scenario", scenario);
        root.put("parameters", parameters);
        root.put("figures", figures);
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            JSON.writeValue(file.toFile(), root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
