package dev.rayfederation.sidecar.preflight;

import dev.rayfederation.k8s.member.MemberCluster;
import dev.rayfederation.k8s.member.ProbePod;
import dev.rayfederation.k8s.render.ProbePodSpec;
import dev.rayfederation.sidecar.provision.Failures;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One probe of one member, run to its end on a thread of its own (it blocks): create the probe pod, wait for it to
 * run, dial its pod IP from here (head -> worker), read its own verdict on the head's GCS address from its exit
 * code and termination message (worker -> head), and delete the pod whatever happened, interrupted or not.
 *
 * <p>A probe pod that never runs within the timeout (unschedulable, image still pulling) says nothing about the
 * network: the run ends {@link Verdict#inconclusive} and the member keeps its last verdict.
 */
final class ProbeRun {

    private static final Logger LOG = LoggerFactory.getLogger(ProbeRun.class);
    /** Upper bound for one call to the member's API (its own guard has shorter timeouts and retries). */
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration DIAL_TIMEOUT = Duration.ofSeconds(2);
    /** How long after its own timeout a probe pod gets to report before the run gives up on its verdict. */
    private static final Duration REPORT_GRACE = Duration.ofSeconds(10);

    /**
     * What a run found: ok, a failure (which direction, what was seen), or no verdict (why).
     */
    record Verdict(PreflightResult.State state, String direction, String error, String note) {
        static Verdict ok() {
            return new Verdict(PreflightResult.State.OK, null, null, null);
        }

        static Verdict failed(String direction, String error) {
            return new Verdict(PreflightResult.State.FAILED, direction, error, null);
        }

        static Verdict inconclusive(String why) {
            return new Verdict(null, null, null, why);
        }

        boolean conclusive() {
            return state != null;
        }
    }

    private final MemberCluster member;
    private final ProbePodSpec spec;
    private final Dialer dialer;
    private final Clock clock;
    private final Duration pollInterval;

    ProbeRun(MemberCluster member, ProbePodSpec spec, Dialer dialer, Clock clock, Duration pollInterval) {
        this.member = member;
        this.spec = spec;
        this.dialer = dialer;
        this.clock = clock;
        this.pollInterval = pollInterval;
    }

    Verdict run() throws InterruptedException {
        try {
            try {
                await(member.createProbe(spec));
            } catch (ExecutionException | TimeoutException e) {
                return Verdict.inconclusive("cannot create the probe pod: " + Failures.rootMessage(e));
            }
            return watch();
        } finally {
            delete();
        }
    }

    private Verdict watch() throws InterruptedException {
        Instant startBy = clock.instant().plus(spec.timeout());
        Instant judgeBy = null;
        String dialError = "the probe pod did not run";
        boolean dialed = false;
        while (true) {
            Optional<ProbePod> seen;
            try {
                seen = await(member.probe(spec.podName()));
            } catch (ExecutionException | TimeoutException e) {
                return Verdict.inconclusive("cannot read the probe pod: " + Failures.rootMessage(e));
            }
            if (seen.isEmpty()) {
                return Verdict.inconclusive("the probe pod was deleted before it reported");
            }
            ProbePod pod = seen.get();
            if (!dialed && pod.podIp() != null && "Running".equals(pod.phase())) {
                judgeBy = judgeBy == null ? clock.instant().plus(spec.timeout()) : judgeBy;
                try {
                    dialer.dial(pod.podIp(), spec.port(), DIAL_TIMEOUT);
                    dialed = true;
                } catch (IOException e) {
                    dialError = "cannot connect to " + pod.podIp() + ":" + spec.port() + ": " + Failures.rootMessage(e);
                }
            }
            if (pod.ended()) {
                return verdict(pod, dialed, dialError);
            }
            Instant now = clock.instant();
            if (judgeBy == null && now.isAfter(startBy)) {
                return Verdict.inconclusive("the probe pod was not running after " + spec.timeout().toSeconds() + "s"
                        + (pod.waiting() == null ? " (" + pod.phase() + ")" : ": " + pod.waiting()));
            }
            if (judgeBy != null && now.isAfter(judgeBy.plus(REPORT_GRACE))) {
                return dialed ? Verdict.inconclusive("the probe pod did not report within its timeout")
                        : Verdict.failed(PreflightResult.HEAD_TO_WORKER, dialError);
            }
            Thread.sleep(pollInterval.toMillis());
        }
    }

    /** The pod ended: exit 0 means it reached the head, 1 that it did not (its message says why). */
    private static Verdict verdict(ProbePod pod, boolean dialed, String dialError) {
        Integer code = pod.exitCode();
        if (code != null && code == 1) {
            return Verdict.failed(PreflightResult.WORKER_TO_HEAD, strip(pod.message()));
        }
        if (code == null || code != 0) {
            return Verdict.inconclusive("the probe ended without a verdict (" + (code == null ? pod.phase() : "exit code " + code)
                    + (pod.message() == null ? "" : ": " + pod.message()) + ")");
        }
        return dialed ? Verdict.ok() : Verdict.failed(PreflightResult.HEAD_TO_WORKER, dialError);
    }

    /** "worker -> head: cannot connect ..." → "cannot connect ..." (the direction is shown apart). */
    private static String strip(String message) {
        if (message == null) {
            return "the probe could not connect to the head";
        }
        String prefix = PreflightResult.WORKER_TO_HEAD + ": ";
        return message.startsWith(prefix) ? message.substring(prefix.length()) : message;
    }

    private void delete() {
        boolean interrupted = Thread.interrupted(); // a cancelled run still deletes its pod
        try {
            await(member.deleteProbe(spec.podName()));
        } catch (InterruptedException | ExecutionException | TimeoutException | RuntimeException e) {
            LOG.warn("member {}: cannot delete probe pod {} ({}); Kubernetes ends it after {}s and the next start "
                    + "deletes it", member.name(), spec.podName(), Failures.rootMessage(e), spec.timeout().toSeconds());
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static <T> T await(CompletionStage<T> stage) throws InterruptedException, ExecutionException, TimeoutException {
        return stage.toCompletableFuture().get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }
}
