package dev.rayfederation.sidecar.config;

import dev.rayfederation.sidecar.config.FederationConfig.HostPort;

import java.util.regex.Pattern;

/** Parses "host:port" as written in the config: a DNS name, an IPv4 address or a bracketed IPv6 address. */
final class Addresses {

    private static final Pattern HOST_NAME = Pattern.compile(
            "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");
    private static final Pattern IPV4_LIKE = Pattern.compile("[0-9.]+");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?");

    /** A config value that is not a valid host:port; the message says why. */
    static final class Invalid extends Exception {
        Invalid(String message) {
            super(message);
        }
    }

    private Addresses() {
    }

    /** The host (without IPv6 brackets) and port 1..65535 of {@code text}. */
    static HostPort parse(String text) throws Invalid {
        String example = " (for example 10.0.0.12:6379, head.example.com:6379 or [fd00::12]:6379)";
        String host;
        String portText;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0 || close + 1 >= text.length() || text.charAt(close + 1) != ':') {
                throw new Invalid("must be host:port with an IPv6 address in brackets, such as [::1]:8765 (got '" + text + "')");
            }
            host = text.substring(1, close);
            portText = text.substring(close + 2);
            if (!IPV6.matcher(host).matches() || !host.contains(":")) {
                throw new Invalid("'" + host + "' is not an IPv6 address");
            }
        } else {
            int colon = text.lastIndexOf(':');
            if (colon < 0) {
                throw new Invalid("must be host:port" + example + ", got '" + text + "'");
            }
            host = text.substring(0, colon);
            portText = text.substring(colon + 1);
            if (host.contains(":")) {
                throw new Invalid("an IPv6 address must be in brackets, such as [::1]:8765 (got '" + text + "')");
            }
            if (host.isEmpty()) {
                throw new Invalid("the host is missing; write 0.0.0.0:" + portText + " to listen on every interface");
            }
            if (!HOST_NAME.matcher(host).matches() || (IPV4_LIKE.matcher(host).matches() && !isIpv4(host))) {
                throw new Invalid("'" + host + "' is neither a host name nor an IPv4 address");
            }
        }
        return new HostPort(host, port(portText));
    }

    private static int port(String text) throws Invalid {
        if (!text.matches("[0-9]{1,5}")) {
            throw new Invalid("the port must be a number from 1 to 65535 (got '" + text + "')");
        }
        int port = Integer.parseInt(text);
        if (port < 1 || port > 65535) {
            throw new Invalid("the port must be from 1 to 65535 (got " + port + ")");
        }
        return port;
    }

    private static boolean isIpv4(String host) {
        String[] parts = host.split("\\.", -1);
        if (parts.length != 4) {
            return false;
        }
        for (String part : parts) {
            if (part.isEmpty() || part.length() > 3 || Integer.parseInt(part) > 255) {
                return false;
            }
        }
        return true;
    }

    /** True for an unspecified address that listens on every interface. */
    static boolean isWildcard(String host) {
        return host.equals("0.0.0.0") || host.equals("::") || host.equals("0:0:0:0:0:0:0:0");
    }
}
