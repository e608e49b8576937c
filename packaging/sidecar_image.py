"""Builds and verifies the sidecar's container image without a container engine or registry.

    python3 packaging/sidecar_image.py build  --jar JAR --output IMAGE.tar [--tag REPO:TAG] [--java-home DIR]
    python3 packaging/sidecar_image.py verify IMAGE.tar [--sim-jar JAR] [--federation-yaml FILE]

``build`` assembles the image FROM scratch out of what the build machine has (Linux only):

  layer base    the shared libraries the JRE and ``cp`` link against (found with ldd, copied from
                this machine's distribution, with its copyright files), ``/bin/cp`` (the chart's plugin
                init container runs ``cp -R``), ``/etc/passwd`` and ``/etc/group`` with user
                ``ray-federation`` (1000:1000, as the chart's securityContext expects), and ``/tmp``
  layer jre     a Java runtime made by ``jlink`` with the modules ``jdeps`` finds in the jar, plus
                the TLS, DNS and JFR modules that are looked up at run time; no java.desktop (and
                so no X11/font libraries)
  layer plugin  the Ray autoscaler plugin (``node-provider/ray_federation``) at
                ``/opt/ray-federation/python``, for the chart's ``autoscaler.plugin.source: sidecarImage``
  layer app     the sidecar jar at ``/app/ray-federation-sidecar.jar``

The entrypoint is ``/opt/java/bin/java -jar /app/ray-federation-sidecar.jar``, user 1000:1000.
Nothing in the image is writable by that user except ``/tmp`` (the chart mounts an emptyDir
there), so a read-only root file system works. There is no shell.

``verify`` (root, Linux) reads the archive back (every digest, size and diff_id), unpacks it as a
runtime would, checks ownership and modes, and runs the image for real: in a private mount
namespace the unpacked tree is bind-mounted read-only, a tmpfs goes on ``/tmp`` and proc on
``/proc``, and commands run there through ``chroot`` as user 1000:1000 with no new privileges:
``--help``; writes to ``/`` fail and to ``/tmp`` succeed; the plugin init container's ``cp``;
``--check-config`` (with and without ``--skip-file-checks``); and the sidecar serving
``/healthz``, ``/readyz`` and ``/metrics``. With ``--sim-jar`` (the simulated member clusters
of tests/) it also creates workers through the API and waits until they are up-to-date.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import oci  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
JAVA_HOME_IN_IMAGE = "/opt/java"
JAR_IN_IMAGE = "/app/ray-federation-sidecar.jar"
PLUGIN_IN_IMAGE = "/opt/ray-federation/python"
USER = "1000:1000"
ENTRYPOINT = [JAVA_HOME_IN_IMAGE + "/bin/java", "-jar", JAR_IN_IMAGE]
# Looked up at run time, so jdeps cannot see them: TLS key exchange (EC), JNDI DNS (Netty's resolver),
# JFR (Netty's optional events; also lets `jcmd JFR.start` work).
EXTRA_MODULES = ["jdk.crypto.ec", "jdk.naming.dns", "jdk.jfr"]
# jdeps names these for optional code paths the sidecar never takes; each would pull in native
# libraries (java.desktop: X11, fonts, sound) or a compiler.
EXCLUDED_MODULES = {"java.desktop": "java.beans, used only by optional Jackson and SnakeYAML bean support",
                    "java.compiler": "javax.tools, used only by Vert.x's compile-from-source verticle factory"}
ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64"}


def log(message: str) -> None:
    print(f"image: {message}", file=sys.stderr, flush=True)


def run(command: Sequence[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(list(command), check=True, text=True, capture_output=True, **kwargs)


# ---------------------------------------------------------------------------------------- build


def java_home(explicit: Optional[str]) -> Path:
    home = Path(explicit or os.environ.get("JAVA_HOME") or Path(shutil.which("java") or "java").resolve().parent.parent)
    for tool in ("jlink", "jdeps"):
        if not (home / "bin" / tool).exists():
            raise SystemExit(f"image: {home} is not a JDK (no bin/{tool}); set JAVA_HOME or pass --java-home")
    if not (home / "jmods").is_dir():
        raise SystemExit(f"image: {home} has no jmods/ (Debian: apt-get install openjdk-17-jdk); jlink needs them")
    return home


def modules(home: Path, jar: Path) -> List[str]:
    found = run([str(home / "bin/jdeps"), "--multi-release", "17", "--ignore-missing-deps", "--print-module-deps",
                 str(jar)]).stdout.strip().splitlines()[-1].split(",")
    dropped = sorted(m for m in found if m in EXCLUDED_MODULES)
    for m in dropped:
        log(f"leaving out {m}: {EXCLUDED_MODULES[m]}")
    return sorted({m for m in found if m not in EXCLUDED_MODULES} | set(EXTRA_MODULES))


def jlink(home: Path, mods: List[str], output: Path) -> None:
    run([str(home / "bin/jlink"), "--add-modules", ",".join(mods), "--strip-debug", "--no-man-pages",
         "--no-header-files", "--compress=2", "--generate-cds-archive", "--output", str(output)])
    # The class-data sharing archive for heaps over 32 GiB (no compressed oops): never the case for the sidecar.
    for unused in output.glob("lib/server/classes_nocoops.jsa"):
        unused.unlink()


def elf_files(root: Path) -> List[Path]:
    out = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    out.append(path)
    return out


def shared_libraries(binaries: Sequence[Path], bundled: Path) -> Set[str]:
    """Absolute paths (as the dynamic loader names them) of every library the binaries need from this machine,
    the loader included; libraries found under ``bundled`` (the JRE's own) are not listed."""
    needed: Set[str] = set()
    for binary in binaries:
        result = subprocess.run(["ldd", str(binary)], text=True, capture_output=True)
        for line in result.stdout.splitlines():
            line = line.strip()
            if line.endswith("not found"):
                # e.g. libjvm.so for libjsig.so: the JRE's launcher loads it from lib/server by path
                name = line.split()[0]
                if not any(bundled.rglob(name)):
                    raise SystemExit(f"image: {binary} needs {name}, which neither this machine nor the JRE has")
                continue
            m = re.match(r"^\S+ => (/\S+) \(", line) or re.match(r"^(/\S+) \(", line)
            if m and not m.group(1).startswith(str(bundled)):
                needed.add(m.group(1))
    return needed


def copy_file(source: Path, root: Path, image_path: str) -> None:
    dest = root / image_path.lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)
    os.chmod(dest, 0o755 if os.stat(source).st_mode & 0o111 else 0o644)


def copyright_files(paths: Sequence[str], root: Path) -> List[str]:
    """Debian's copyright file of each package a copied file comes from (dpkg -S); empty without dpkg."""
    if not shutil.which("dpkg"):
        return []
    packages: Set[str] = set()
    for path in paths:
        candidates = [path, os.path.realpath(path)]
        for c in candidates:
            result = subprocess.run(["dpkg", "-S", c], text=True, capture_output=True)
            if result.returncode == 0:
                packages.add(result.stdout.split(":")[0].strip())
                break
    copied = []
    for package in sorted(packages):
        source = Path("/usr/share/doc") / package / "copyright"
        if source.is_file():
            copy_file(source, root, f"/usr/share/doc/{package}/copyright")
            copied.append(package)
    return copied


def build(args: argparse.Namespace) -> None:
    if platform.system() != "Linux":
        raise SystemExit("image: building needs Linux (the image holds this machine's JRE and C libraries)")
    arch = ARCHITECTURES.get(platform.machine())
    if arch is None:
        raise SystemExit(f"image: unsupported architecture {platform.machine()}")
    jar = Path(args.jar).resolve()
    if not jar.is_file():
        raise SystemExit(f"image: no jar at {jar}")
    home = java_home(args.java_home)
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    with tempfile.TemporaryDirectory(prefix="ray-federation-image.") as tmp:
        work = Path(tmp)
        mods = modules(home, jar)
        log(f"jlink {home.name}: {', '.join(mods)}")
        jre = work / "jre" / JAVA_HOME_IN_IMAGE.lstrip("/")
        jlink(home, mods, jre)

        base = work / "base"
        cp = Path(shutil.which("cp") or "/bin/cp").resolve()
        copy_file(cp, base, "/bin/cp")
        libs = sorted(shared_libraries(elf_files(jre) + [cp], jre))
        for lib in libs:
            copy_file(Path(os.path.realpath(lib)), base, lib)
        notices = copyright_files(libs + [str(cp)], base)
        log(f"base: /bin/cp and {len(libs)} libraries ({', '.join(Path(l).name for l in libs)}); "
            f"copyright files of {', '.join(notices) or 'no package (no dpkg)'}")
        for name in ("passwd", "group", "nsswitch.conf"):
            copy_file(REPO / "packaging/rootfs/etc" / name, base, f"/etc/{name}")
        for d in ("tmp", "proc", "sys", "dev", "app", "etc/ray-federation", "var/run/secrets/ray-federation"):
            (base / d).mkdir(parents=True, exist_ok=True)

        plugin = work / "plugin"
        source = REPO / "node-provider/ray_federation"
        for py in sorted(source.glob("*.py")):
            copy_file(py, plugin, f"{PLUGIN_IN_IMAGE}/ray_federation/{py.name}")
        copy_file(REPO / "node-provider/README.md", plugin, f"{PLUGIN_IN_IMAGE}/README.md")

        app = work / "app"
        copy_file(jar, app, JAR_IN_IMAGE)

        config = oci.ImageConfig(
            user=USER,
            entrypoint=ENTRYPOINT,
            env=[f"PATH={JAVA_HOME_IN_IMAGE}/bin:/bin", f"JAVA_HOME={JAVA_HOME_IN_IMAGE}", "LANG=C.UTF-8"],
            working_dir="/tmp",
            exposed_ports=["9090/tcp"],
            labels={
                "org.opencontainers.image.title": "ray-federation sidecar",
                "org.opencontainers.image.description": "Ray autoscaler node provider placing workers across Kubernetes clusters",
                "org.opencontainers.image.version": args.tag.rpartition(":")[2],
                "org.opencontainers.image.base.name": "scratch",
                "dev.rayfederation.java.runtime": f"jlink of {home.name}: {','.join(mods)}",
            },
        )
        built = oci.write_archive(
            Path(args.output),
            [
                oci.Layer("base", base, {"/tmp": 0o1777}),
                oci.Layer("jre", work / "jre"),
                oci.Layer("plugin", plugin),
                oci.Layer("app", app),
            ],
            config,
            args.tag,
            arch,
            epoch,
        )
    mib = 1024 * 1024
    for name, digest, size, raw in built.layers:
        log(f"layer {name:<7} {size / mib:6.1f} MiB compressed, {raw / mib:6.1f} MiB unpacked  {digest}")
    log(f"wrote {args.output}: {args.tag} ({arch}), {built.total_compressed() / mib:.1f} MiB compressed, "
        f"{built.total_uncompressed() / mib:.1f} MiB unpacked; manifest {built.manifest_digest}")


# ---------------------------------------------------------------------------------------- verify


class Check:
    """Counts and prints each verification step."""

    def __init__(self) -> None:
        self.passed = 0

    def ok(self, what: str) -> None:
        self.passed += 1
        print(f"  ok    {what}", flush=True)

    @staticmethod
    def fail(what: str, detail: str = "") -> None:
        print(f"  FAIL  {what}", flush=True)
        for line in detail.splitlines()[-60:]:
            print(f"        {line}", flush=True)
        raise SystemExit(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5) -> tuple:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def http_post(url: str, body: dict) -> tuple:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Sandbox:
    """The unpacked image, mounted the way Kubernetes runs the chart's container (in a private mount namespace)."""

    def __init__(self, rootfs: Path, entrypoint: List[str], env: List[str]) -> None:
        self.rootfs = rootfs
        self.entrypoint = entrypoint
        self.env = dict(e.split("=", 1) for e in env)

    def mount(self) -> None:
        subprocess.run(["mount", "--make-rprivate", "/"], check=True)
        subprocess.run(["mount", "--bind", str(self.rootfs), str(self.rootfs)], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(self.rootfs)], check=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=1777,size=256m", "tmpfs", str(self.rootfs / "tmp")],
                       check=True)
        subprocess.run(["mount", "-t", "proc", "proc", str(self.rootfs / "proc")], check=True)

    def unmount(self) -> None:
        subprocess.run(["umount", "--recursive", "--lazy", str(self.rootfs)], check=False)

    def put(self, image_path: str, data: bytes) -> None:
        """Writes a file into the sandbox's /tmp (a volume), readable by the container user."""
        if not image_path.startswith("/tmp/"):
            raise ValueError("only /tmp is writable")
        dest = self.rootfs / image_path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(dest.parent, 0o755)
        dest.write_bytes(data)
        os.chmod(dest, 0o644)

    def command(self, argv: List[str]) -> List[str]:
        user, group = USER.split(":")
        tools = [shutil.which(t, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") for t in ("setpriv", "chroot")]
        if None in tools:
            raise SystemExit("image: verify needs setpriv and chroot (util-linux, coreutils)")
        return [tools[0], "--no-new-privs", tools[1], f"--userspec={user}:{group}", str(self.rootfs)] + argv

    def popen(self, argv: List[str], extra_env: Optional[Dict[str, str]] = None, **kwargs) -> subprocess.Popen:
        env = dict(self.env)
        env.update(extra_env or {})
        return subprocess.Popen(self.command(argv), env=env, cwd="/", **kwargs)

    def run(self, argv: List[str], extra_env: Optional[Dict[str, str]] = None, timeout: float = 120) -> tuple:
        p = self.popen(argv, extra_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
            return -1, out + "\n(timed out)"
        return p.returncode, out


def check_tree(rootfs: Path, check: Check) -> None:
    writable, setuid, not_root = [], [], []
    for path in [rootfs] + sorted(rootfs.rglob("*")):
        st = os.lstat(path)
        rel = "/" + str(path.relative_to(rootfs)) if path != rootfs else "/"
        if stat.S_ISLNK(st.st_mode):
            continue
        if st.st_uid != 0 or st.st_gid != 0:
            not_root.append(rel)
        if st.st_mode & (stat.S_ISUID | stat.S_ISGID):
            setuid.append(rel)
        if st.st_mode & 0o022 and rel != "/tmp":
            writable.append(rel)
    if not_root or setuid or writable:
        check.fail("file ownership and modes", f"not owned by root: {not_root[:10]}\nsetuid/setgid: {setuid[:10]}\n"
                                               f"writable by others: {writable[:10]}")
    check.ok("every file is owned by root, none setuid, none writable by others except /tmp (1777)")
    if (rootfs / "bin/sh").exists() or (rootfs / "bin/bash").exists():
        check.fail("no shell in the image")
    check.ok("no shell in the image")


def sample_config(api_port: int, management_port: int, clusters: List[dict]) -> str:
    lines = [
        "rayCluster:",
        "  name: verify",
        "  headAddress: 10.0.0.12:6379",
        "api:",
        f"  listen: 127.0.0.1:{api_port}",
        "management:",
        f"  listen: 127.0.0.1:{management_port}",
        "clusters:",
    ]
    for c in clusters:
        lines.append(f"  - name: {c['name']}")
        for key in ("cloud", "region", "zone", "kubeconfig", "context", "namespace"):
            if c.get(key):
                lines.append(f"    {key}: {json.dumps(c[key])}")
    lines += [
        "virtualClusters:",
        "  - name: vc",
        "pools:",
        "  - name: cpu",
        "    virtualCluster: vc",
        "    resources: {CPU: 1, memory: 1Gi}",
        "timing:",
        "  memberStartTimeout: 5s",
        "  memberRetryInterval: 5s",
    ]
    return "\n".join(lines) + "\n"


def verify(args: argparse.Namespace) -> None:
    if os.geteuid() != 0:
        raise SystemExit("image: verify needs root (mount namespaces and chroot); run it with sudo or as root")
    check = Check()
    image = oci.read_archive(Path(args.image))
    check.ok(f"archive {args.image}: {image.reference}, every blob matches its digest and size, diff_ids match")
    cfg = image.config["config"]
    if cfg.get("User") != USER or cfg.get("Entrypoint") != ENTRYPOINT:
        check.fail("image config", json.dumps(cfg, indent=2))
    check.ok(f"config: user {cfg['User']}, entrypoint {' '.join(cfg['Entrypoint'])}")
    with tempfile.TemporaryDirectory(prefix="ray-federation-verify.") as tmp:
        rootfs = Path(tmp) / "rootfs"
        oci.unpack(image, rootfs)
        size = sum(os.lstat(p).st_size for p in rootfs.rglob("*"))
        check.ok(f"unpacked {len(image.layer_blobs)} layers: {size / 1024 / 1024:.1f} MiB")
        check_tree(rootfs, check)
        sandbox = Sandbox(rootfs, cfg["Entrypoint"], cfg.get("Env", []))
        sandbox.mount()
        try:
            check.ok("mounted read-only, with a tmpfs on /tmp and proc on /proc; commands run as 1000:1000, "
                     "no new privileges")
            run_checks(sandbox, args, check)
        finally:
            sandbox.unmount()
    print(f"image verified: {check.passed} checks passed")


def run_checks(sandbox: Sandbox, args: argparse.Namespace, check: Check) -> None:
    java = sandbox.entrypoint
    code, out = sandbox.run(java + ["--help"])
    if code != 0 or "usage:" not in out:
        check.fail("--help", out)
    check.ok("the entrypoint runs: --help")

    code, out = sandbox.run(["/bin/cp", "/etc/passwd", "/passwd-copy"])
    if code == 0:
        check.fail("the root file system must be read-only for the container user")
    code2, out2 = sandbox.run(["/bin/cp", "/etc/passwd", "/tmp/passwd-copy"])
    if code2 != 0:
        check.fail("writing to /tmp", out2)
    check.ok(f"writes to / fail ({out.strip().splitlines()[-1] if out.strip() else code}); writes to /tmp work")

    code, out = sandbox.run(["cp", "-R", PLUGIN_IN_IMAGE + "/.", "/tmp/plugin/"])
    copied = sandbox.rootfs / "tmp/plugin/ray_federation/provider.py"
    if code != 0 or not copied.is_file():
        check.fail("the chart's plugin init container: cp -R /opt/ray-federation/python/. /ray-federation-plugin/", out)
    check.ok("the chart's plugin init container command copies the plugin (cp found on PATH)")

    api_port, management_port = free_port(), free_port()
    sandbox.put("/tmp/cfg/kubeconfig", b"apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
                                         b"    server: http://127.0.0.1:9\ncontexts:\n- name: c\n  context:\n"
                                         b"    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n"
                                         b"  user:\n    token: verify-secret-token\n")
    unreachable = [{"name": "nowhere", "cloud": "local", "kubeconfig": "/tmp/cfg/kubeconfig"}]
    sandbox.put("/tmp/cfg/federation.yaml", sample_config(api_port, management_port, unreachable).encode())
    code, out = sandbox.run(java + ["--config", "/tmp/cfg/federation.yaml", "--check-config"])
    if code != 0 or "configuration is valid" not in out:
        check.fail("--check-config", out)
    check.ok("--check-config on a sample config")
    if "verify-secret-token" in out:
        check.fail("the effective config must not show the kubeconfig's token", out)

    if args.federation_yaml:
        sandbox.put("/tmp/cfg/chart-federation.yaml", Path(args.federation_yaml).read_bytes())
        code, out = sandbox.run(java + ["--config", "/tmp/cfg/chart-federation.yaml", "--check-config",
                                        "--skip-file-checks"])
        if code != 0 or "configuration is valid" not in out:
            check.fail("--check-config --skip-file-checks on " + args.federation_yaml, out)
        check.ok(f"--check-config --skip-file-checks on {args.federation_yaml}")

    members: List[dict] = list(unreachable)
    secrets = ["verify-secret-token"]
    sim: Optional[subprocess.Popen] = None
    sim_dir = Path(tempfile.mkdtemp(prefix="ray-federation-sim."))
    tls = TlsProbe.start(sim_dir) if shutil.which("openssl") else None
    try:
        if tls is not None:
            sandbox.put("/tmp/cfg/tls.kubeconfig", tls.kubeconfig().encode())
            members.append({"name": "tls-probe", "cloud": "tls", "kubeconfig": "/tmp/cfg/tls.kubeconfig"})
            secrets.append(TlsProbe.TOKEN)
        if args.sim_jar:
            sim_log = sim_dir / "sim.log"
            with open(sim_log, "w") as out:
                sim = subprocess.Popen(["java", "-Xmx256m", "-jar", args.sim_jar, "--topology", "pair", "--dir",
                                        str(sim_dir / "members"), "--ignore-stdin"], stdout=out, stderr=subprocess.STDOUT)
            ready, seen = read_ready(sim, sim_log)
            if not ready:
                check.fail("simulated member clusters did not print READY", seen)
            members = [m for m in members if m["name"] == "tls-probe"]
            for kubeconfig_text in (sim_dir / "members").glob("*.kubeconfig"):
                secrets.extend(re.findall(r"token: *(\S+)", kubeconfig_text.read_text()))
            for m in json.loads(Path(ready.split(" ", 1)[1].strip()).read_text()):
                kubeconfig = f"/tmp/cfg/{m['name']}.kubeconfig"
                sandbox.put(kubeconfig, Path(m["kubeconfig"]).read_bytes())
                members.append({"name": m["name"], "cloud": m["cloud"], "region": m.get("region"), "zone": m.get("zone"),
                                "kubeconfig": kubeconfig, "context": m.get("context"), "namespace": m.get("namespace")})
            check.ok(f"simulated members {', '.join(m['name'] for m in members if m['name'] != 'tls-probe')} "
                     "(tests/) answer on loopback")
        sandbox.put("/tmp/cfg/live.yaml", sample_config(api_port, management_port, members).encode())
        serve(sandbox, java, api_port, management_port, bool(args.sim_jar), secrets, check)
        if tls is not None:
            paths = tls.requests()
            if not any(p.startswith("/api") for p in paths):
                check.fail("TLS to a member: the HTTPS member saw no Kubernetes API request", "\n".join(paths))
            if any(a != "Bearer " + TlsProbe.TOKEN for a in tls.authorizations()):
                check.fail("TLS to a member: requests without the kubeconfig's bearer token", str(tls.authorizations()))
            check.ok(f"TLS to a member: the image's JRE verified the member's EC certificate against the kubeconfig's "
                     f"CA and sent {len(paths)} authenticated API requests over {tls.protocols()}")
    finally:
        if tls is not None:
            tls.stop()
        if sim is not None:
            sim.terminate()
            try:
                sim.wait(timeout=20)
            except subprocess.TimeoutExpired:
                sim.kill()
        shutil.rmtree(sim_dir, ignore_errors=True)


class TlsProbe:
    """An HTTPS "member" with a fresh EC certificate (openssl): it records what the sidecar sends and answers 503."""

    TOKEN = "tls-probe-secret-token"

    def __init__(self, directory: Path, server, thread) -> None:
        self.directory = directory
        self.server = server
        self.thread = thread

    @staticmethod
    def start(directory: Path) -> "TlsProbe":
        import http.server
        import ssl
        import threading

        cert, key = directory / "tls-cert.pem", directory / "tls-key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        seen: List[tuple] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                seen.append((self.path, self.headers.get("Authorization"), self.connection.version()))
                body = b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":503}'
                self.send_response(503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_PATCH = do_DELETE = do_GET

            def log_message(self, *args) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.seen = seen
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        return TlsProbe(directory, server, thread)

    def kubeconfig(self) -> str:
        import base64

        ca = base64.b64encode((self.directory / "tls-cert.pem").read_bytes()).decode()
        port = self.server.server_address[1]
        return (f"apiVersion: v1\nkind: Config\nclusters:\n- name: tls\n  cluster:\n    server: https://127.0.0.1:{port}\n"
                f"    certificate-authority-data: {ca}\ncontexts:\n- name: tls\n  context:\n    cluster: tls\n"
                f"    user: tls\ncurrent-context: tls\nusers:\n- name: tls\n  user:\n    token: {self.TOKEN}\n")

    def requests(self) -> List[str]:
        return [path for path, _, _ in self.server.seen]

    def authorizations(self) -> List[str]:
        return [auth for _, auth, _ in self.server.seen]

    def protocols(self) -> str:
        return ", ".join(sorted({proto for _, _, proto in self.server.seen})) or "nothing"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def read_ready(sim: subprocess.Popen, output: Path, timeout: float = 120) -> tuple:
    """Waits for the simulator's ``READY <members.json>`` line in its output file (or its exit, or the timeout)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = output.read_text() if output.exists() else ""
        for line in text.splitlines():
            if line.startswith("READY "):
                return line, text
        if sim.poll() is not None:
            return None, text
        time.sleep(0.2)
    return None, output.read_text() if output.exists() else ""


def serve(sandbox: Sandbox, java: List[str], api_port: int, management_port: int, live: bool, secrets: List[str],
          check: Check) -> None:
    """Starts the sidecar from the image as the chart does and talks to it."""
    log_path = sandbox.rootfs / "tmp/sidecar.log"
    with open(log_path, "w") as log_file:
        p = sandbox.popen(java + ["--config", "/tmp/cfg/live.yaml"],
                          {"JAVA_TOOL_OPTIONS": "-XX:MaxRAMPercentage=70 -XX:+UseSerialGC -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -Xss512k -XX:ReservedCodeCacheSize=64m -XX:MaxMetaspaceSize=128m -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError",
                           "RAY_FEDERATION_STATE_FILE": "/tmp/ray-federation/state.json"},
                          stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{management_port}"
    try:
        deadline = time.time() + 120
        status = None
        while time.time() < deadline:
            if p.poll() is not None:
                check.fail(f"the sidecar exited with {p.returncode} before it was ready", log_path.read_text())
            try:
                status, body = http_get(base + "/readyz")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        if status != 200:
            check.fail("/readyz 200 within 120 s", log_path.read_text())
        check.ok("the sidecar serves from the image: /readyz 200" + ("" if live else " (member marked unreachable)"))
        status, body = http_get(base + "/healthz")
        if status != 200:
            check.fail("/healthz", body)
        status, metrics = http_get(base + "/metrics")
        if status != 200 or "# TYPE ray_federation_member_state gauge" not in metrics:
            check.fail("/metrics", metrics[:2000])
        check.ok("/healthz 200; /metrics in the Prometheus text format")
        api = f"http://127.0.0.1:{api_port}"
        if live:
            status, answer = http_post(api + "/v1/nodes", {"nodeType": "cpu", "count": 2, "requestId": "verify-1",
                                                           "tags": {"ray-user-node-type": "cpu"}})
            if status != 201 or len(answer.get("created", [])) != 2:
                check.fail("POST /v1/nodes", f"{status} {answer}\n" + log_path.read_text())
            deadline = time.time() + 120
            nodes: list = []
            while time.time() < deadline:
                status, body = http_get(api + "/v1/nodes")
                nodes = json.loads(body).get("nodes", []) if status == 200 else []
                if len(nodes) == 2 and all(n["status"] == "up-to-date" for n in nodes):
                    break
                time.sleep(0.5)
            else:
                check.fail("2 workers up-to-date", json.dumps(nodes, indent=1) + "\n" + log_path.read_text())
            check.ok("created 2 workers in the simulated members; both up-to-date ("
                     + ", ".join(sorted(n["cluster"] for n in nodes)) + ")")
        else:
            status, body = http_get(api + "/v1/clusters")
            states = {c["name"]: c["state"] for c in json.loads(body)["clusters"]} if status == 200 else {}
            if states.get("nowhere") != "unreachable":
                check.fail("GET /v1/clusters", body)
            check.ok("GET /v1/clusters shows the member unreachable")
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            code = p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            code = p.wait()
    text = log_path.read_text()
    if code not in (0, 143):
        check.fail(f"SIGTERM: exit status {code}", text)
    leaked = [secret for secret in secrets if secret in text]
    if leaked:
        check.fail(f"kubeconfig tokens appear in the log: {leaked}", text)
    problems = [l for l in text.splitlines() if re.search(r"NoClassDefFoundError|ClassNotFoundException|UnsatisfiedLinkError"
                                                           r"|Read-only file system|Permission denied", l)]
    if problems:
        check.fail("the log shows a missing module, library or file permission", "\n".join(problems))
    check.ok(f"SIGTERM stops it (exit {code}); no missing class, library or permission in the log; "
             f"none of the {len(secrets)} kubeconfig tokens in it")


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="assemble the image archive")
    b.add_argument("--jar", required=True, help="the sidecar's runnable jar (ray-federation-sidecar-all.jar)")
    b.add_argument("--output", required=True, help="where to write the archive (.tar)")
    b.add_argument("--tag", required=True, help="repository:tag, e.g. ray-federation/sidecar:0.1.0")
    b.add_argument("--java-home", help="the JDK whose jlink and jmods to use (default: JAVA_HOME, then java on PATH)")
    v = sub.add_parser("verify", help="read the archive back and run it (root, Linux)")
    v.add_argument("image")
    v.add_argument("--sim-jar", help="tests/target/ray-federation-sim-all.jar: also create workers in simulated members")
    v.add_argument("--federation-yaml", help="also validate this config (e.g. the chart's) with --skip-file-checks")
    args = parser.parse_args(argv)
    if args.command == "build":
        build(args)
    else:
        verify(args)


if __name__ == "__main__":
    main()
