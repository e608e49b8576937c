package dev.rayfederation.sim.bench;

import dev.rayfederation.sim.SidecarConfig;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What every scenario shares: where files go, the sidecar jar and how its JVM is started (as in the Helm chart, plus
 * a JFR recording per sidecar start when profiling).
 *
 * @param workDir    scratch directory of this run
 * @param sidecarJar the sidecar's runnable jar
 * @param jvmArgs    JVM options of the sidecar
 * @param jfrDir     where to write a JFR recording of each sidecar, or null
 */
record BenchEnv(Path workDir, Path sidecarJar, List<String> jvmArgs, Path jfrDir) {

    BenchEnv {
        jvmArgs = List.copyOf(jvmArgs);
    }

    /** Starts a sidecar without any profiling (for timing its start-up). */
    SidecarRun startPlainSidecar(SidecarConfig config, Path dir) {
        return SidecarRun.start(sidecarJar, jvmArgs, config, dir, Duration.ofMinutes(5));
    }

    /** Starts a sidecar; {@code name} names its JFR recording. */
    SidecarRun startSidecar(String name, SidecarConfig config, Path dir) {
        List<String> args = new ArrayList<>(jvmArgs);
        if (jfrDir != null) {
            args.add("-XX:StartFlightRecording=filename=" + jfrDir.resolve(name + ".jfr").toAbsolutePath()
                    + ",settings=profile,dumponexit=true");
            args.add("-XX:NativeMemoryTracking=summary");
        }
        return SidecarRun.start(sidecarJar, args, config, dir, Duration.ofMinutes(5));
    }

    /** When profiling: saves where the sidecar's memory goes (NMT summary, heap histogram head) as {@code <name>-memory.txt}. */
    void memoryProfile(SidecarRun sidecar, String name) {
        if (jfrDir == null) {
            return;
        }
        try {
            String nmt = sidecar.jcmd("VM.native_memory", "summary");
            String histogram = sidecar.jcmd("GC.class_histogram");
            String head = String.join("\n", histogram.lines().limit(30).toList());
            java.nio.file.Files.writeString(jfrDir.resolve(name + "-memory.txt"), nmt + "\n" + head + "\n");
        } catch (RuntimeException | java.io.IOException e) {
            System.out.println("bench: could not profile the memory of " + name + ": " + e.getMessage());
        }
    }
}
