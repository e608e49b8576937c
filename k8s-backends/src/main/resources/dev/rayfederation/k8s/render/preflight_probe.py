# The network preflight of ray-federation, run by python3 in a short-lived pod of a member cluster (standard
# library only, so any Ray image runs it). It checks both directions Ray needs between the head and a worker:
#   worker -> head: it dials the head's GCS address (RAY_FEDERATION_HEAD, host:port);
#   head -> worker: it listens on RAY_FEDERATION_PROBE_PORT and waits for the sidecar to dial its pod IP.
# Its own verdict (the worker -> head direction) is its exit code and its last line, which Kubernetes keeps as the
# container's termination message; the sidecar judges the other direction by its own dial.
import os
import socket
import sys
import time

TERMINATION_LOG = "/dev/termination-log"


def finish(code, text):
    # Kubernetes mounts the termination log in every container; elsewhere (a test's host) only stdout is read
    if os.path.exists(TERMINATION_LOG):
        try:
            with open(TERMINATION_LOG, "w") as f:
                f.write(text)
        except OSError:
            pass
    print(text, flush=True)
    sys.exit(code)


def main():
    head = os.environ["RAY_FEDERATION_HEAD"]
    port = int(os.environ["RAY_FEDERATION_PROBE_PORT"])
    timeout = float(os.environ["RAY_FEDERATION_PROBE_TIMEOUT_SECONDS"])
    deadline = time.monotonic() + timeout
    # listen first, so the sidecar's dial-back finds the port open as soon as the pod runs
    try:
        server = socket.create_server((os.environ.get("POD_IP", ""), port))
    except OSError as e:
        finish(3, "probe: cannot listen on port %d: %s" % (port, e))
    host, _, head_port = head.rpartition(":")
    host = host.strip("[]")
    try:
        socket.create_connection((host, int(head_port)), timeout=max(1.0, min(10.0, timeout / 3))).close()
        outward = None
    except OSError as e:
        outward = "worker -> head: cannot connect to %s: %s" % (head, e.strerror or e)
    # wait for the sidecar's dial-back (it is judged by the sidecar; the wait only keeps the port open for it)
    server.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        conn, _ = server.accept()
        conn.close()
    except OSError:
        pass
    if outward:
        finish(1, outward)
    finish(0, "ok: worker -> head " + head)


main()
