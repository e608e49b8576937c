package dev.rayfederation.sidecar.config;

import java.util.List;

/** The configuration is invalid; {@link #problems()} lists every problem as "field.path: what is wrong". */
public final class ConfigException extends Exception {

    private final List<String> problems;

    public ConfigException(List<String> problems) {
        super(String.join("\n", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
