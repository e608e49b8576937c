package dev.rayfederation.sidecar.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Reads {@code antRay} (optional) and each virtual cluster's {@code antRay} (optional):
 *
 * <pre>
 * antRay:
 *   enabled: true                        # default: true when dashboardUrl is given
 *   dashboardUrl: http://127.0.0.1:8265  # the Ray head's dashboard (ant-ray's virtual-cluster REST API)
 *   requestTimeout: 5s
 *   retryInterval: 2s
 *   shrinkWait: 5s
 * virtualClusters:
 *   - name: team-a
 *     antRay: {id: team-a, divisible: false}   # id defaults to the name
 * </pre>
 */
final class AntRayReader {

    /** How an id that defaults to a virtual cluster's name is named in messages. */
    private static final String DEFAULT_ID = ".name, the default id";
    /** What ant-ray accepts as a virtual cluster id. */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

    private AntRayReader() {
    }

    static FederationConfig.AntRay read(ConfigNode section) {
        FederationConfig.AntRay d = FederationConfig.AntRay.disabled();
        if (!section.isPresent() || !section.isMap()) {
            return d;
        }
        section.rejectUnknownKeys(List.of("enabled", "dashboardUrl", "requestTimeout", "retryInterval", "shrinkWait"));
        ConfigNode urlField = section.field("dashboardUrl");
        URI url = urlField.string().flatMap(text -> url(urlField, text)).orElse(null);
        boolean enabled = section.field("enabled").bool().orElse(urlField.isPresent());
        if (enabled && !urlField.isPresent()) {
            urlField.problem("is required when antRay.enabled is true (the Ray head's dashboard, such as http://127.0.0.1:8265)");
        }
        Duration timeout = ConfigReader.duration(section.field("requestTimeout"), d.requestTimeout());
        Duration retry = ConfigReader.duration(section.field("retryInterval"), d.retryInterval());
        Duration shrinkWait = ConfigReader.duration(section.field("shrinkWait"), d.shrinkWait());
        return new FederationConfig.AntRay(enabled && url != null, url, timeout, retry, shrinkWait);
    }

    private static Optional<URI> url(ConfigNode field, String text) {
        if (!text.regionMatches(true, 0, "http://", 0, 7) && !text.regionMatches(true, 0, "https://", 0, 8)) {
            field.problem("must be an http:// or https:// URL (got '" + text + "')");
            return Optional.empty();
        }
        try {
            URI uri = new URI(text.endsWith("/") ? text.substring(0, text.length() - 1) : text);
            if (uri.getHost() == null || uri.getHost().isEmpty()) {
                field.problem("must name a host (got '" + text + "')");
                return Optional.empty();
            }
            if (uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
                field.problem("must be a plain base URL without user info, query or fragment (got '" + text + "')");
                return Optional.empty();
            }
            return Optional.of(uri);
        } catch (URISyntaxException e) {
            field.problem("is not a URL: " + e.getMessage());
            return Optional.empty();
        }
    }

    /** "virtualClusters[1].antRay" → "virtualClusters[1].name, the default id". */
    private static String defaultIdPath(ConfigNode section) {
        return section.path().substring(0, section.path().length() - ".antRay".length()) + DEFAULT_ID;
    }

    /**
     * One virtual cluster's {@code antRay}. Ids are unique across virtual clusters, defaults (the names) included.
     *
     * @param name     the virtual cluster's name (null when it has none: already reported)
     * @param pathById ids seen so far → where they were given
     */
    static FederationConfig.AntRayCluster virtualCluster(ConfigNode section, String name, Map<String, String> pathById) {
        FederationConfig.AntRayCluster byDefault = new FederationConfig.AntRayCluster(name, false);
        if (!section.isPresent()) {
            if (name != null) {
                String earlier = pathById.putIfAbsent(name, defaultIdPath(section));
                // two default ids collide only when two names do, which the names' own check reports
                if (earlier != null && !earlier.endsWith(DEFAULT_ID)) {
                    section.problem("'" + name + "' (the default id: this virtual cluster's name) is already used by "
                            + earlier + " (must be unique)");
                }
            }
            return byDefault;
        }
        if (!section.isMap()) {
            return byDefault;
        }
        section.rejectUnknownKeys(List.of("id", "divisible"));
        ConfigNode idField = section.field("id");
        String id = idField.string().orElse(name);
        if (id != null) {
            if (idField.isPresent() && !ID.matcher(id).matches()) {
                idField.problem("must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit (got '" + id + "')");
            } else {
                String earlier = pathById.putIfAbsent(id, idField.isPresent() ? idField.path() : defaultIdPath(section));
                if (earlier != null && idField.isPresent()) {
                    idField.problem("'" + id + "' is already used by " + earlier + " (must be unique)");
                } else if (earlier != null && !earlier.endsWith(DEFAULT_ID)) {
                    section.problem("'" + id + "' (the default id: this virtual cluster's name) is already used by "
                            + earlier + " (must be unique)");
                }
            }
        }
        boolean divisible = section.field("divisible").bool().orElse(false);
        return new FederationConfig.AntRayCluster(id, divisible);
    }
}
