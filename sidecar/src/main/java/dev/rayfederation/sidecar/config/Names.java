package dev.rayfederation.sidecar.config;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The syntax of the names a config file contains. Each check returns what is wrong ("must match ..."),
 * or empty when the name is fine.
 */
final class Names {

    /** Longest member, virtual-cluster, pool or Ray cluster name: they are joined into pod names and labels. */
    static final int MAX_NAME_LENGTH = 40;

    /** Prefixes of Ray node labels set by Ray and by ray-federation itself. */
    static final List<String> RESERVED_LABEL_PREFIXES = List.of("ray.io/", "ray-federation.io/");

    private static final Pattern OBJECT_NAME = Pattern.compile("[a-z]([a-z0-9-]*[a-z0-9])?");
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]*[a-z0-9])?");
    private static final Pattern DNS_SUBDOMAIN =
            Pattern.compile("[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*");
    /** Kubernetes "name" part of a qualified name, also a label value when non-empty. */
    private static final Pattern QUALIFIED_NAME_PART = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?");
    private static final Pattern NODE_TYPE = Pattern.compile("[A-Za-z0-9_.-]+");
    private static final Pattern CLOUD = Pattern.compile("[A-Za-z0-9_.-]{1,63}");

    private Names() {
    }

    /** Members, virtual clusters and pools: [a-z0-9-], starting with a letter, at most 40 characters. */
    static Optional<String> checkObjectName(String name) {
        if (name.length() <= MAX_NAME_LENGTH && OBJECT_NAME.matcher(name).matches()) {
            return Optional.empty();
        }
        return Optional.of("must match [a-z0-9-]+, start with a letter, end with a letter or digit and be at most "
                + MAX_NAME_LENGTH + " characters (got '" + name + "')");
    }

    /** A DNS label (RFC 1123) of at most {@code maxLength} characters: Ray cluster name, namespace. */
    static Optional<String> checkDnsLabel(String name, int maxLength) {
        if (name.length() <= maxLength && DNS_LABEL.matcher(name).matches()) {
            return Optional.empty();
        }
        return Optional.of("must be a DNS label: [a-z0-9-], starting and ending with a letter or digit, at most "
                + maxLength + " characters (got '" + name + "')");
    }

    /** A key of Ray's available_node_types. */
    static Optional<String> checkNodeType(String name) {
        return NODE_TYPE.matcher(name).matches()
                ? Optional.empty()
                : Optional.of("must match [A-Za-z0-9_.-]+ (got '" + name + "')");
    }

    /** A circuit-breaker group name (it becomes a metric label). */
    static Optional<String> checkCloud(String name) {
        return CLOUD.matcher(name).matches()
                ? Optional.empty()
                : Optional.of("must match [A-Za-z0-9_.-]+ and be at most 63 characters (got '" + name + "')");
    }

    /** A Kubernetes extended resource name: {@code prefix/name}, such as nvidia.com/gpu. */
    static Optional<String> checkExtendedResourceName(String name) {
        int slash = name.indexOf('/');
        if (slash > 0 && slash <= 253 && DNS_SUBDOMAIN.matcher(name.substring(0, slash)).matches()) {
            String rest = name.substring(slash + 1);
            if (rest.length() <= 63 && QUALIFIED_NAME_PART.matcher(rest).matches()) {
                return Optional.empty();
            }
        }
        return Optional.of("must be an extended resource name such as nvidia.com/gpu (domain/name), got '" + name + "'");
    }

    /** A Ray node label key (Kubernetes label key syntax, not under a reserved prefix). */
    static Optional<String> checkLabelKey(String key) {
        for (String reserved : RESERVED_LABEL_PREFIXES) {
            if (key.startsWith(reserved)) {
                return Optional.of("label keys under " + reserved + " are reserved (Ray and ray-federation set them)");
            }
        }
        int slash = key.lastIndexOf('/');
        String prefix = slash < 0 ? null : key.substring(0, slash);
        String name = slash < 0 ? key : key.substring(slash + 1);
        boolean prefixOk = prefix == null || (prefix.length() <= 253 && DNS_SUBDOMAIN.matcher(prefix).matches());
        boolean nameOk = name.length() <= 63 && QUALIFIED_NAME_PART.matcher(name).matches();
        if (prefixOk && nameOk) {
            return Optional.empty();
        }
        return Optional.of("must be a label key: an optional DNS prefix and '/', then at most 63 of [A-Za-z0-9_.-] "
                + "starting and ending with a letter or digit");
    }

    /** A Ray node label value (may be empty). */
    static Optional<String> checkLabelValue(String value) {
        if (value.isEmpty() || (value.length() <= 63 && QUALIFIED_NAME_PART.matcher(value).matches())) {
            return Optional.empty();
        }
        return Optional.of("must be at most 63 of [A-Za-z0-9_.-], starting and ending with a letter or digit (got '"
                + value + "')");
    }
}
