package dev.rayfederation.sidecar.registry;

import java.security.SecureRandom;

/**
 * Mints Ray node ids: "rf-" + 9 base-36 digits of the wall-clock milliseconds + 8 random base-36 digits.
 * Time-ordered, unique for the Ray cluster's lifetime without any stored counter (a restarted sidecar
 * cannot mint an id it minted before: the clock moved on and 41 random bits make a same-millisecond
 * collision negligible), and short enough that "{rayCluster.name}-{id}" is a valid pod name.
 */
public final class NodeIds {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz";

    private NodeIds() {
    }

    public static String mint() {
        StringBuilder sb = new StringBuilder(20).append("rf-");
        appendBase36(sb, System.currentTimeMillis(), 9);
        long r;
        synchronized (RANDOM) {
            r = RANDOM.nextLong() & Long.MAX_VALUE;
        }
        appendBase36(sb, r, 8);
        return sb.toString();
    }

    public static String podName(String rayClusterName, String nodeId) {
        return rayClusterName + "-" + nodeId;
    }

    private static void appendBase36(StringBuilder sb, long value, int width) {
        char[] out = new char[width];
        long v = value;
        for (int i = width - 1; i >= 0; i--) {
            out[i] = DIGITS.charAt((int) (v % 36));
            v /= 36;
        }
        sb.append(out);
    }
}
