package dev.rayfederation.sidecar.federation;

import dev.rayfederation.sidecar.config.ConfigException;
import dev.rayfederation.sidecar.config.ConfigLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Notices a changed configuration file and hands it to {@link Reconfiguration}. The file's content is hashed every
 * {@link #POLL}: Kubernetes updates a mounted ConfigMap by swapping a symlink, which a watch on the file itself
 * would miss, and an edit in place is caught too. A file caught half-written is refused as invalid and applied on
 * the next poll, once whole. {@link #reloadNow()} (SIGHUP) reads it at once, changed or not.
 */
public final class ConfigWatcher {

    private static final Logger LOG = LoggerFactory.getLogger(ConfigWatcher.class);
    static final Duration POLL = Duration.ofSeconds(1);

    private final Path file;
    private final Reconfiguration reconfiguration;
    private Duration poll = POLL;
    private byte[] lastHash;

    public ConfigWatcher(Path file, Reconfiguration reconfiguration) {
        this.file = file;
        this.reconfiguration = reconfiguration;
        this.lastHash = hash(read());
    }

    /** Another poll interval than {@link #POLL}, for tests; before {@link #start}. */
    ConfigWatcher pollEvery(Duration interval) {
        this.poll = interval;
        return this;
    }

    public void start(ScheduledExecutorService scheduler) {
        scheduler.scheduleWithFixedDelay(this::poll, poll.toMillis(), poll.toMillis(), TimeUnit.MILLISECONDS);
        LOG.info("watching {} for changes (every {} s, or at once on SIGHUP)", file, poll.toSeconds());
    }

    /**
     * SIGHUP reads the config file at once ({@link #reloadNow()}; it is also polled). Where the JVM offers no signal
     * handling, or the process was started with SIGHUP ignored (under {@code nohup}, for instance: the JVM then keeps
     * it ignored and installs no handler), polling only, and the log says so.
     *
     * @return whether SIGHUP is handled
     */
    public boolean reloadOnHangup() {
        try {
            sun.misc.SignalHandler before = sun.misc.Signal.handle(new sun.misc.Signal("HUP"), s -> reloadNow());
            if (before == sun.misc.SignalHandler.SIG_IGN) {
                LOG.info("SIGHUP is ignored in this process (started under nohup?), so it cannot reload the config; "
                        + "the config file is still polled");
                return false;
            }
            return true;
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            LOG.info("SIGHUP is not available here ({}); the config file is still polled", e.getMessage());
            return false;
        }
    }

    /** Reads the file now and applies it, even if it did not change. */
    public synchronized void reloadNow() {
        LOG.info("reloading {} on request", file);
        load(read());
    }

    private synchronized void poll() {
        try {
            byte[] content = read();
            byte[] h = hash(content);
            if (!Arrays.equals(h, lastHash)) {
                load(content);
            }
        } catch (RuntimeException e) {
            LOG.error("checking {} for changes failed", file, e);
        }
    }

    private void load(byte[] content) {
        lastHash = hash(content);
        if (content == null) {
            reconfiguration.refuse(List.of(file + ": cannot be read"));
            return;
        }
        try {
            reconfiguration.apply(ConfigLoader.load(file));
        } catch (ConfigException e) {
            reconfiguration.refuse(e.problems());
        } catch (IOException e) {
            reconfiguration.refuse(List.of(file + ": cannot be read: " + e.getMessage()));
        }
    }

    private byte[] read() {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            return null;
        }
    }

    private static byte[] hash(byte[] content) {
        if (content == null) {
            return new byte[0];
        }
        try {
            return MessageDigest.getInstance("SHA-256").digest(content);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
