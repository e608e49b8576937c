"""Writes and reads OCI image archives with the Python standard library only.

An archive is one tar file holding an OCI image layout (``oci-layout``, ``index.json``,
``blobs/sha256/...``) plus a Docker-style ``manifest.json`` that points at the same blobs, so that
``docker load``, ``podman load``, ``skopeo copy oci-archive:...`` and containerd's ``ctr images
import`` all accept it. Layers are gzip-compressed tars built from directory trees with fixed
timestamps, owner root:root and normalised modes, so the same inputs give the same digests.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass
class Layer:
    """One layer: every file under ``root`` lands at the same path in the image.

    ``modes`` overrides the mode of given image paths (e.g. ``{"/tmp": 0o1777}``).
    """

    name: str
    root: Path
    modes: Dict[str, int] = field(default_factory=dict)


@dataclass
class ImageConfig:
    """What the runtime needs: user, entrypoint, environment and so on (OCI image config ``config``)."""

    user: str
    entrypoint: List[str]
    env: List[str]
    working_dir: str = "/"
    exposed_ports: List[str] = field(default_factory=list)
    labels: Dict[str, str] = field(default_factory=dict)
    cmd: List[str] = field(default_factory=list)


@dataclass
class BuiltImage:
    """Digests and sizes of what :func:`write_archive` wrote."""

    manifest_digest: str
    config_digest: str
    layers: List[Tuple[str, str, int, int]]  # (name, digest, compressed size, uncompressed size)

    def total_compressed(self) -> int:
        return sum(size for _, _, size, _ in self.layers)

    def total_uncompressed(self) -> int:
        return sum(size for _, _, _, size in self.layers)


def _normalised(info: tarfile.TarInfo, mtime: int, mode: Optional[int]) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = mtime
    if mode is not None:
        info.mode = mode
    elif info.isdir():
        info.mode = 0o755
    elif info.isreg():
        info.mode = 0o755 if info.mode & 0o111 else 0o644
    else:
        info.mode = 0o777 if info.issym() else info.mode & 0o7777 & ~(stat.S_ISUID | stat.S_ISGID)
    return info


def _entries(root: Path) -> List[Tuple[str, Path]]:
    """(path in the image, path on disk) for every directory and file under root, parents first, sorted."""
    out: List[Tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        base = Path(dirpath)
        rel = base.relative_to(root).as_posix()
        if rel != ".":
            out.append((rel, base))
        for name in sorted(filenames) + sorted(d for d in dirnames if (base / d).is_symlink()):
            path = base / name
            out.append(((path.relative_to(root)).as_posix(), path))
    out.sort(key=lambda e: e[0])
    return out


def layer_tar(layer: Layer, mtime: int) -> bytes:
    """The layer as an uncompressed tar: its parent directories first, then every entry, sorted."""
    buf = io.BytesIO()
    entries = _entries(layer.root)
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel, path in entries:
            info = tar.gettarinfo(str(path), arcname=rel)
            if info.type not in (tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE):
                raise ValueError(f"{path}: only files, directories and symbolic links can go into a layer")
            _normalised(info, mtime, layer.modes.get("/" + rel))
            if info.isreg():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    return buf.getvalue()


def _gzip(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) as gz:
        gz.write(data)
    return out.getvalue()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _json(value: object) -> bytes:
    return json.dumps(value, indent=None, separators=(",", ":"), sort_keys=True).encode()


def _timestamp(epoch: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_archive(
    output: Path,
    layers: Iterable[Layer],
    config: ImageConfig,
    reference: str,
    architecture: str,
    epoch: int = 0,
) -> BuiltImage:
    """Writes the image archive to ``output`` (atomically) and returns its digests.

    ``reference`` is ``repository:tag``; ``epoch`` (seconds) stamps the files and the image.
    """
    blobs: List[Tuple[str, bytes]] = []
    layer_descriptors = []
    diff_ids = []
    history = []
    built_layers = []
    created = _timestamp(epoch)
    for layer in layers:
        raw = layer_tar(layer, epoch)
        compressed = _gzip(raw)
        digest = _digest(compressed)
        blobs.append((digest, compressed))
        diff_ids.append(_digest(raw))
        layer_descriptors.append({"mediaType": MEDIA_LAYER_GZIP, "digest": digest, "size": len(compressed)})
        history.append({"created": created, "created_by": f"scripts/image: layer {layer.name}"})
        built_layers.append((layer.name, digest, len(compressed), len(raw)))
    image_config = {
        "created": created,
        "architecture": architecture,
        "os": "linux",
        "config": {
            "User": config.user,
            "Entrypoint": config.entrypoint,
            "Env": config.env,
            "WorkingDir": config.working_dir,
            "Labels": config.labels,
            **({"Cmd": config.cmd} if config.cmd else {}),
            **({"ExposedPorts": {p: {} for p in config.exposed_ports}} if config.exposed_ports else {}),
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    config_bytes = _json(image_config)
    config_digest = _digest(config_bytes)
    blobs.append((config_digest, config_bytes))
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": config_digest, "size": len(config_bytes)},
        "layers": layer_descriptors,
        "annotations": {"org.opencontainers.image.created": created},
    }
    manifest_bytes = _json(manifest)
    manifest_digest = _digest(manifest_bytes)
    blobs.append((manifest_digest, manifest_bytes))
    repository, _, tag = reference.rpartition(":")
    if not repository or "/" in tag:
        raise ValueError(f"reference {reference!r}: expected repository:tag")
    index = {
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [
            {
                "mediaType": MEDIA_MANIFEST,
                "digest": manifest_digest,
                "size": len(manifest_bytes),
                "platform": {"architecture": architecture, "os": "linux"},
                "annotations": {
                    "org.opencontainers.image.ref.name": tag,
                    "io.containerd.image.name": reference,
                },
            }
        ],
    }
    docker_manifest = [
        {
            "Config": "blobs/sha256/" + config_digest.split(":")[1],
            "RepoTags": [reference],
            "Layers": ["blobs/sha256/" + d["digest"].split(":")[1] for d in layer_descriptors],
        }
    ]
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with tarfile.open(partial, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add(name: str, data: bytes, mode: int = 0o644) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            info.mtime = epoch
            tar.addfile(info, io.BytesIO(data))

        def add_dir(name: str) -> None:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            info.mtime = epoch
            tar.addfile(info)

        add("oci-layout", _json({"imageLayoutVersion": "1.0.0"}))
        add("index.json", _json(index))
        add("manifest.json", _json(docker_manifest))
        add_dir("blobs")
        add_dir("blobs/sha256")
        seen = set()
        for digest, data in blobs:
            if digest not in seen:
                seen.add(digest)
                add("blobs/sha256/" + digest.split(":")[1], data)
    partial.replace(output)
    return BuiltImage(manifest_digest, config_digest, built_layers)


@dataclass
class ReadImage:
    """An archive read back by :func:`read_archive`: its reference, manifest, config and layer blobs."""

    reference: str
    manifest_digest: str
    manifest: dict
    config: dict
    layer_blobs: List[bytes]


def read_archive(path: Path) -> ReadImage:
    """Reads an archive written by :func:`write_archive` and checks every digest, size and diff_id.

    Raises ValueError naming the first inconsistency.
    """
    with tarfile.open(path, mode="r") as tar:
        members = {m.name: m for m in tar.getmembers()}

        def read(name: str) -> bytes:
            if name not in members:
                raise ValueError(f"{path}: no {name}")
            f = tar.extractfile(members[name])
            assert f is not None
            return f.read()

        def blob(descriptor: dict) -> bytes:
            algorithm, hexdigest = descriptor["digest"].split(":")
            if algorithm != "sha256":
                raise ValueError(f"unsupported digest {descriptor['digest']}")
            data = read("blobs/sha256/" + hexdigest)
            if _digest(data) != descriptor["digest"]:
                raise ValueError(f"blob {descriptor['digest']}: content does not match its digest")
            if len(data) != descriptor["size"]:
                raise ValueError(f"blob {descriptor['digest']}: {len(data)} bytes, descriptor says {descriptor['size']}")
            return data

        if json.loads(read("oci-layout")) != {"imageLayoutVersion": "1.0.0"}:
            raise ValueError("oci-layout: unexpected content")
        index = json.loads(read("index.json"))
        if len(index.get("manifests", [])) != 1:
            raise ValueError("index.json: expected exactly one manifest")
        descriptor = index["manifests"][0]
        manifest = json.loads(blob(descriptor))
        config = json.loads(blob(manifest["config"]))
        layers = [blob(d) for d in manifest["layers"]]
        diff_ids = [_digest(gzip.decompress(data)) for data in layers]
        if diff_ids != config["rootfs"]["diff_ids"]:
            raise ValueError("config rootfs.diff_ids do not match the uncompressed layers")
        docker = json.loads(read("manifest.json"))
        expected_layers = ["blobs/sha256/" + d["digest"].split(":")[1] for d in manifest["layers"]]
        if docker[0]["Layers"] != expected_layers or docker[0]["Config"] != "blobs/sha256/" + manifest["config"]["digest"].split(":")[1]:
            raise ValueError("manifest.json (docker load) does not point at the OCI manifest's blobs")
        reference = descriptor.get("annotations", {}).get("io.containerd.image.name", "")
        if docker[0]["RepoTags"] != [reference]:
            raise ValueError(f"manifest.json RepoTags {docker[0]['RepoTags']} differ from index.json's {reference}")
        return ReadImage(reference, descriptor["digest"], manifest, config, layers)


def unpack(image: ReadImage, target: Path) -> None:
    """Extracts the layers in order into ``target`` (which must be empty), as a container runtime would.

    Refuses absolute paths, ``..`` and links that leave the tree; applies OCI whiteouts.
    """
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise ValueError(f"{target} is not empty")
    for data in image.layer_blobs:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data)), mode="r") as tar:
            for member in tar.getmembers():
                name = member.name
                if name.startswith("/") or ".." in Path(name).parts:
                    raise ValueError(f"layer entry {name!r} escapes the root")
                base = os.path.basename(name)
                if base.startswith(".wh."):
                    victim = target / os.path.dirname(name) / base[len(".wh."):]
                    if victim.is_dir() and not victim.is_symlink():
                        import shutil

                        shutil.rmtree(victim)
                    elif victim.exists() or victim.is_symlink():
                        victim.unlink()
                    continue
                if member.issym() and not os.path.isabs(member.linkname) and \
                        os.path.normpath(os.path.join(os.path.dirname(name), member.linkname)).startswith(".."):
                    raise ValueError(f"symbolic link {name} -> {member.linkname} leaves the root")
                dest = target / name
                if member.isdir():
                    dest.mkdir(parents=True, exist_ok=True)
                elif member.issym():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    if dest.exists() or dest.is_symlink():
                        dest.unlink()
                    os.symlink(member.linkname, dest)
                elif member.isreg():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    if dest.exists() or dest.is_symlink():
                        dest.unlink()
                    f = tar.extractfile(member)
                    assert f is not None
                    with open(dest, "wb") as out:
                        out.write(f.read())
                else:
                    raise ValueError(f"layer entry {name}: unsupported type {member.type!r}")
                if not member.issym():
                    os.chown(dest, member.uid, member.gid)
                    os.chmod(dest, member.mode)
