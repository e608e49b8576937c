package dev.rayfederation.k8s.member;

import io.fabric8.kubernetes.client.OAuthTokenProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The bearer token of a kubeconfig user given as {@code tokenFile:}, read again whenever the file changes: bound
 * ServiceAccount tokens are rotated in place (kubelet rewrites the projected file). fabric8 reads such a file only
 * for the in-cluster service account, so members configured with a kubeconfig get this provider. A file that
 * cannot be read later keeps the last token (the API server's 401 then tells).
 */
final class TokenFile implements OAuthTokenProvider {

    private static final Logger LOG = LoggerFactory.getLogger(TokenFile.class);

    private final Path file;
    private Object version;
    private String token;

    /** @throws IllegalArgumentException when the file cannot be read or is empty */
    TokenFile(Path file, String field) {
        this.file = file;
        try {
            reread();
        } catch (IOException e) {
            throw new IllegalArgumentException(field + ": cannot read token file " + file + ": " + e.getClass().getSimpleName());
        }
        if (token.isEmpty()) {
            throw new IllegalArgumentException(field + ": token file " + file + " is empty");
        }
    }

    @Override
    public synchronized String getToken() {
        try {
            reread();
        } catch (IOException e) {
            LOG.debug("cannot read token file {}, keeping the last token: {}", file, e.toString());
        }
        return token;
    }

    private synchronized void reread() throws IOException {
        BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
        Object now = a.lastModifiedTime() + "/" + a.size() + "/" + a.fileKey();
        if (!now.equals(version)) {
            String read = Files.readString(file).strip();
            if (!read.isEmpty() || token == null) {
                token = read;
            }
            version = now;
        }
    }
}
