package dev.rayfederation.sidecar.logging;

import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.Logger;
import org.slf4j.helpers.BasicMarkerFactory;
import org.slf4j.helpers.NOPMDCAdapter;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The SLF4J provider of {@code RAY_FEDERATION_LOG_FORMAT=json}: {@link JsonLogger}s on stderr, with the levels
 * slf4j-simple would use (its system properties, then {@code simplelogger.properties}), so both formats honour
 * the same settings.
 */
public final class JsonLogProvider implements SLF4JServiceProvider {

    private final IMarkerFactory markers = new BasicMarkerFactory();
    private final MDCAdapter mdc = new NOPMDCAdapter();
    private volatile ILoggerFactory factory;

    @Override
    public ILoggerFactory getLoggerFactory() {
        return factory;
    }

    @Override
    public IMarkerFactory getMarkerFactory() {
        return markers;
    }

    @Override
    public MDCAdapter getMDCAdapter() {
        return mdc;
    }

    @Override
    public String getRequestedApiVersion() {
        return "2.0.99";
    }

    @Override
    public void initialize() {
        Properties defaults = new Properties();
        try (InputStream in = JsonLogProvider.class.getResourceAsStream("/simplelogger.properties")) {
            if (in != null) {
                defaults.load(in);
            }
        } catch (IOException e) {
            // no defaults: info everywhere
        }
        ConcurrentMap<String, Logger> loggers = new ConcurrentHashMap<>();
        factory = name -> loggers.computeIfAbsent(name, n -> new JsonLogger(n, level(n, defaults), System.err));
    }

    /** The rank of the level configured for {@code name} or its nearest parent package (info when none). */
    static int level(String name, Properties defaults) {
        String level = null;
        for (String n = name; n != null && level == null; ) {
            level = setting(LogSettings.SIMPLE + "log." + n, defaults);
            int dot = n.lastIndexOf('.');
            n = dot < 0 ? null : n.substring(0, dot);
        }
        if (level == null) {
            level = setting(LogSettings.SIMPLE + "defaultLogLevel", defaults);
        }
        int rank = LogSettings.rank(level == null ? "info" : level);
        return name.equals(LogSettings.HTTP_LOGGER) ? Math.max(rank, LogSettings.rank("info")) : rank;
    }

    private static String setting(String key, Properties defaults) {
        String v = System.getProperty(key);
        return v != null ? v : defaults.getProperty(key);
    }
}
