package dev.rayfederation.sidecar.logging;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;

/** One JSON object per line: time, level, logger, thread, message and, with a throwable, exception. */
final class JsonLogger extends LegacyAbstractLogger {

    private static final long serialVersionUID = 1L;
    private static final JsonFactory JSON = new JsonFactory();

    private final int level;
    private final transient PrintStream out;

    /** @param level the rank of the lowest level logged (see {@link LogSettings#rank}) */
    JsonLogger(String name, int level, PrintStream out) {
        this.name = name;
        this.level = level;
        this.out = out;
    }

    @Override
    public boolean isTraceEnabled() {
        return level <= 0;
    }

    @Override
    public boolean isDebugEnabled() {
        return level <= 1;
    }

    @Override
    public boolean isInfoEnabled() {
        return level <= 2;
    }

    @Override
    public boolean isWarnEnabled() {
        return level <= 3;
    }

    @Override
    public boolean isErrorEnabled() {
        return level <= 4;
    }

    @Override
    protected String getFullyQualifiedCallerName() {
        return null;
    }

    @Override
    protected void handleNormalizedLoggingCall(Level lvl, Marker marker, String pattern, Object[] args, Throwable thrown) {
        String message = MessageFormatter.basicArrayFormat(pattern, args);
        // one print per line: lines of concurrent threads never interleave
        out.print(line(Instant.now(), lvl.name(), name, Thread.currentThread().getName(), message, thrown));
        out.flush();
    }

    static String line(Instant time, String level, String logger, String thread, String message, Throwable thrown) {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = JSON.createGenerator(w)) {
            g.writeStartObject();
            g.writeStringField("time", time.toString());
            g.writeStringField("level", level);
            g.writeStringField("logger", logger);
            g.writeStringField("thread", thread);
            g.writeStringField("message", message);
            if (thrown != null) {
                StringWriter trace = new StringWriter();
                thrown.printStackTrace(new PrintWriter(trace));
                g.writeStringField("exception", trace.toString());
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.append('\n').toString();
    }
}
