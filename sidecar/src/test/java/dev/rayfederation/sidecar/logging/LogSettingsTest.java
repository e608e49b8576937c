package dev.rayfederation.sidecar.logging;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** RAY_FEDERATION_LOG_FORMAT and RAY_FEDERATION_LOG_LEVEL: what they accept, what they refuse and in which words. */
class LogSettingsTest {

    private static final String HTTP = LogSettings.HTTP_LOGGER;

    /** apply() writes system properties: each test starts without ours and leaves none behind. */
    private Properties saved;

    @BeforeEach
    void clearOurProperties() {
        saved = (Properties) System.getProperties().clone();
        ourProperties().forEach(System::clearProperty);
    }

    @AfterEach
    void restoreProperties() {
        ourProperties().forEach(System::clearProperty);
        saved.stringPropertyNames().stream().filter(LogSettingsTest::ours)
                .forEach(k -> System.setProperty(k, saved.getProperty(k)));
    }

    private static List<String> ourProperties() {
        return new ArrayList<>(System.getProperties().stringPropertyNames().stream().filter(LogSettingsTest::ours).toList());
    }

    private static boolean ours(String key) {
        return key.startsWith(LogSettings.SIMPLE) || key.startsWith("slf4j.");
    }

    private static LogSettings of(String format, String level) {
        Map<String, String> env = new HashMap<>();
        if (format != null) {
            env.put(LogSettings.FORMAT_ENV, format);
        }
        if (level != null) {
            env.put(LogSettings.LEVEL_ENV, level);
        }
        return LogSettings.of(env);
    }

    @Nested
    @DisplayName("RAY_FEDERATION_LOG_FORMAT")
    class Format {

        @ParameterizedTest(name = "''{0}'' is json")
        @CsvSource(delimiter = '|', value = {"json", "JSON", " json "})
        void json(String value) {
            assertThat(of(value, null).json()).isTrue();
        }

        @ParameterizedTest(name = "''{0}'' is text")
        @CsvSource(delimiter = '|', value = {"text", "Text", "''"})
        void text(String value) {
            assertThat(of(value, null).json()).isFalse();
        }

        @Test
        @DisplayName("unset is text")
        void unsetIsText() {
            assertThat(LogSettings.of(Map.of()).json()).isFalse();
        }

        @Test
        @DisplayName("anything else is refused, naming the variable and the value")
        void otherValuesAreRefused() {
            assertThatThrownBy(() -> of("xml", null)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("RAY_FEDERATION_LOG_FORMAT: 'xml' is not text or json");
        }

        @Test
        @DisplayName("json selects the JSON provider; text leaves slf4j-simple in charge")
        void jsonSelectsTheJsonProvider() {
            of("text", null).apply();
            assertThat(System.getProperty("slf4j.provider")).isNull();

            of("json", null).apply();
            assertThat(System.getProperty("slf4j.provider")).isEqualTo(JsonLogProvider.class.getName());
        }
    }

    @Nested
    @DisplayName("RAY_FEDERATION_LOG_LEVEL")
    class Level {

        @Test
        @DisplayName("a default level and per-logger levels become slf4j-simple's settings")
        void defaultAndPerLogger() {
            of(null, " debug , dev.rayfederation.k8s = TRACE,io.vertx=warn,").apply();

            assertThat(System.getProperty(LogSettings.SIMPLE + "defaultLogLevel")).isEqualTo("debug");
            assertThat(System.getProperty(LogSettings.SIMPLE + "log.dev.rayfederation.k8s")).isEqualTo("trace");
            assertThat(System.getProperty(LogSettings.SIMPLE + "log.io.vertx")).isEqualTo("warn");
        }

        @Test
        @DisplayName("unset changes no level (simplelogger.properties decides: info)")
        void unsetChangesNothing() {
            LogSettings.of(Map.of()).apply();
            assertThat(System.getProperty(LogSettings.SIMPLE + "defaultLogLevel")).isNull();
        }

        @ParameterizedTest(name = "{0}")
        @CsvSource(delimiter = '|', value = {
                "asked for trace|trace",
                "asked for debug|io.fabric8=debug",
                "asked for trace by name|" + HTTP + "=trace",
        })
        @DisplayName("fabric8's HTTP logging interceptor stays at info or above (it prints bearer tokens below)")
        void theHttpLoggerNeverGoesBelowInfo(String what, String level) {
            of(null, level).apply();
            assertThat(System.getProperty(LogSettings.SIMPLE + "log." + HTTP)).as(what).isEqualTo("info");
        }

        @Test
        @DisplayName("the HTTP logging interceptor may be quieter than info")
        void theHttpLoggerMayBeQuieter() {
            of(null, HTTP + "=error").apply();
            assertThat(System.getProperty(LogSettings.SIMPLE + "log." + HTTP)).isEqualTo("error");
        }

        @ParameterizedTest(name = "''{0}''")
        @CsvSource(delimiter = '|', value = {
                "loud|RAY_FEDERATION_LOG_LEVEL: 'loud' in 'loud' is not one of trace, debug, info, warn, error, off",
                "info,dev.rayfederation=verbose|RAY_FEDERATION_LOG_LEVEL: 'verbose' in 'dev.rayfederation=verbose' is not one of trace, debug, info, warn, error, off",
                "dev.rayfederation=|RAY_FEDERATION_LOG_LEVEL: '' in 'dev.rayfederation=' is not one of trace, debug, info, warn, error, off",
                "=debug|RAY_FEDERATION_LOG_LEVEL: '' in '=debug' is not a logger name (a package or class, like dev.rayfederation.k8s)",
                "dev..k8s=debug|RAY_FEDERATION_LOG_LEVEL: 'dev..k8s' in 'dev..k8s=debug' is not a logger name (a package or class, like dev.rayfederation.k8s)",
                "dev rayfederation=debug|RAY_FEDERATION_LOG_LEVEL: 'dev rayfederation' in 'dev rayfederation=debug' is not a logger name (a package or class, like dev.rayfederation.k8s)",
                "1dev=debug|RAY_FEDERATION_LOG_LEVEL: '1dev' in '1dev=debug' is not a logger name (a package or class, like dev.rayfederation.k8s)",
        })
        @DisplayName("a bad level or logger name is refused with the variable and the part at fault, and sets nothing")
        void badSpecsAreRefused(String spec, String message) {
            assertThatThrownBy(() -> of(null, spec)).isInstanceOf(IllegalArgumentException.class).hasMessage(message);
            assertThat(ourProperties()).isEmpty();
        }
    }

    @Nested
    @DisplayName("the JSON format")
    class Json {

        private final ObjectMapper mapper = new ObjectMapper();

        @Test
        @DisplayName("one line, one object: time, level, logger, thread, message")
        void oneObjectPerLine() throws Exception {
            String line = JsonLogger.line(Instant.parse("2026-12-04T17:00:00Z"), "INFO", "dev.rayfederation.sidecar.Main",
                    "main", "node-provider API on \"127.0.0.1:8765\"\nsecond line", null);

            assertThat(line).endsWith("\n").containsOnlyOnce("\n");
            JsonNode json = mapper.readTree(line);
            assertThat(json.fieldNames()).toIterable().containsExactly("time", "level", "logger", "thread", "message");
            assertThat(json.path("time").asText()).isEqualTo("2026-12-04T17:00:00Z");
            assertThat(json.path("level").asText()).isEqualTo("INFO");
            assertThat(json.path("logger").asText()).isEqualTo("dev.rayfederation.sidecar.Main");
            assertThat(json.path("message").asText()).isEqualTo("node-provider API on \"127.0.0.1:8765\"\nsecond line");
        }

        @Test
        @DisplayName("a throwable comes as its stack trace in field exception, still on one line")
        void exceptionField() throws Exception {
            String line = JsonLogger.line(Instant.EPOCH, "WARN", "x", "t", "failed", new IllegalStateException("boom"));

            assertThat(line).containsOnlyOnce("\n");
            assertThat(mapper.readTree(line).path("exception").asText())
                    .startsWith("java.lang.IllegalStateException: boom").contains("\tat ");
        }

        @Test
        @DisplayName("levels follow the same settings as the text format, by nearest package")
        void levelsByNearestPackage() {
            Properties defaults = new Properties();
            defaults.setProperty(LogSettings.SIMPLE + "defaultLogLevel", "info");
            defaults.setProperty(LogSettings.SIMPLE + "log.io.vertx", "warn");
            of(null, "dev.rayfederation.k8s=debug,io.fabric8=trace").apply();

            assertThat(JsonLogProvider.level("dev.rayfederation.k8s.member.PodEvents", defaults)).isEqualTo(LogSettings.rank("debug"));
            assertThat(JsonLogProvider.level("dev.rayfederation.sidecar.Main", defaults)).isEqualTo(LogSettings.rank("info"));
            assertThat(JsonLogProvider.level("io.vertx.core.impl.VertxImpl", defaults)).isEqualTo(LogSettings.rank("warn"));
            assertThat(JsonLogProvider.level("io.fabric8.kubernetes.client.Config", defaults)).isEqualTo(LogSettings.rank("trace"));
            assertThat(JsonLogProvider.level(HTTP, defaults)).as("fabric8's HTTP logging, asked for trace")
                    .isEqualTo(LogSettings.rank("info"));
            assertThat(JsonLogProvider.level("anything", new Properties())).as("no settings at all").isEqualTo(LogSettings.rank("info"));
        }

        @Test
        @DisplayName("a logger logs its level and above only")
        void loggerHonoursItsLevel() {
            JsonLogger warn = new JsonLogger("x", LogSettings.rank("warn"), System.err);
            assertThat(warn.isErrorEnabled()).isTrue();
            assertThat(warn.isWarnEnabled()).isTrue();
            assertThat(warn.isInfoEnabled()).isFalse();
            assertThat(warn.isDebugEnabled()).isFalse();
            JsonLogger off = new JsonLogger("x", LogSettings.rank("off"), System.err);
            assertThat(off.isErrorEnabled()).isFalse();
        }
    }
}
