package dev.rayfederation.sidecar.logging;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The sidecar's log settings from its environment, applied before the first logger exists:
 * <ul>
 *   <li>{@value #FORMAT_ENV}: {@code text} (default, slf4j-simple's lines) or {@code json} (one JSON object per
 *       line on stderr: time, level, logger, thread, message, exception), for log pipelines;</li>
 *   <li>{@value #LEVEL_ENV}: a default level and per-logger levels, e.g. {@code info,dev.rayfederation.k8s=debug}.</li>
 * </ul>
 * Whatever is asked, fabric8's HTTP logging interceptor never logs below info: at debug and trace it prints request
 * headers, bearer tokens included.
 */
public final class LogSettings {

    public static final String FORMAT_ENV = "RAY_FEDERATION_LOG_FORMAT";
    public static final String LEVEL_ENV = "RAY_FEDERATION_LOG_LEVEL";
    static final String HTTP_LOGGER = "io.fabric8.kubernetes.client.http.HttpLoggingInterceptor";
    static final Set<String> LEVELS = Set.of("trace", "debug", "info", "warn", "error", "off");
    static final String SIMPLE = "org.slf4j.simpleLogger.";

    private final boolean json;
    private final String defaultLevel;
    private final Map<String, String> levels;

    private LogSettings(boolean json, String defaultLevel, Map<String, String> levels) {
        this.json = json;
        this.defaultLevel = defaultLevel;
        this.levels = levels;
    }

    public boolean json() {
        return json;
    }

    /** @throws IllegalArgumentException naming the variable and the part at fault */
    public static LogSettings of(Map<String, String> env) {
        String format = env.getOrDefault(FORMAT_ENV, "").trim().toLowerCase(Locale.ROOT);
        if (!format.isEmpty() && !format.equals("text") && !format.equals("json")) {
            throw new IllegalArgumentException(FORMAT_ENV + ": '" + env.get(FORMAT_ENV) + "' is not text or json");
        }
        String defaultLevel = null;
        Map<String, String> levels = new LinkedHashMap<>();
        String spec = env.getOrDefault(LEVEL_ENV, "").trim();
        for (String part : spec.isEmpty() ? new String[0] : spec.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.indexOf('=');
            String name = eq < 0 ? null : p.substring(0, eq).trim();
            String level = (eq < 0 ? p : p.substring(eq + 1)).trim().toLowerCase(Locale.ROOT);
            if (!LEVELS.contains(level)) {
                throw new IllegalArgumentException(LEVEL_ENV + ": '" + level + "' in '" + p
                        + "' is not one of trace, debug, info, warn, error, off");
            }
            if (name == null) {
                defaultLevel = level;
            } else if (name.isEmpty() || !name.matches("[A-Za-z_$][\\w$]*(\\.[A-Za-z_$][\\w$]*)*")) {
                throw new IllegalArgumentException(LEVEL_ENV + ": '" + name + "' in '" + p
                        + "' is not a logger name (a package or class, like dev.rayfederation.k8s)");
            } else {
                levels.put(name, level);
            }
        }
        return new LogSettings(format.equals("json"), defaultLevel, levels);
    }

    /** Sets slf4j-simple's system properties (or selects the JSON provider); before any logger is made. */
    public void apply() {
        if (defaultLevel != null) {
            System.setProperty(SIMPLE + "defaultLogLevel", defaultLevel);
        }
        levels.forEach((name, level) -> System.setProperty(SIMPLE + "log." + name, level));
        String http = System.getProperty(SIMPLE + "log." + HTTP_LOGGER);
        if (http == null || rank(http) < rank("info")) {
            System.setProperty(SIMPLE + "log." + HTTP_LOGGER, "info");
        }
        if (json) {
            System.setProperty("slf4j.provider", JsonLogProvider.class.getName());
            System.setProperty("slf4j.internal.verbosity", "WARN");
        }
    }

    /** trace 0 … error 4, off 5. */
    static int rank(String level) {
        return switch (level.toLowerCase(Locale.ROOT)) {
            case "trace" -> 0;
            case "debug" -> 1;
            case "info" -> 2;
            case "warn" -> 3;
            case "error" -> 4;
            default -> 5;
        };
    }
}
