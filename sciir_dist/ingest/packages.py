"""Source discovery and safe access to package files, on any fsspec URI.

A *source* is one unit of ingest work: a JATS package (directory or
``.tar.gz``/``.tgz``), a SciIR crawler JSON file, or an image folder.
Archives are streamed once, member by member, into memory under size caps;
nothing is ever extracted to disk, and members with absolute paths, ``..``,
symlinks, hard links or device types are refused with a reject.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import tarfile
from dataclasses import dataclass, field
from typing import Iterator

import fsspec

from sciir_dist.ingest.errors import Reject, describe

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
XML_SUFFIXES = (".nxml", ".xml")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".gif", ".bmp", ".webp", ".eps", ".pdf", ".svg")
MAX_MEMBER_BYTES = 512 * 1024 * 1024
MAX_PACKAGE_BYTES = 2 * 1024 * 1024 * 1024


@dataclass(frozen=True)
class Source:
    uri: str
    format: str  # jats | sciir-json | images
    fingerprint: str


@dataclass
class MemberReject:
    member: str
    reason: str
    detail: str


@dataclass
class PackageFiles:
    """Files of one package by relative path, read lazily from a directory or
    held in memory from an archive stream."""

    base: str
    _fs: fsspec.AbstractFileSystem | None = None
    _files: dict[str, bytes] = field(default_factory=dict)
    _names: list[str] = field(default_factory=list)
    rejects: list[MemberReject] = field(default_factory=list)

    def names(self) -> list[str]:
        return list(self._names)

    def read(self, name: str) -> bytes:
        if name in self._files:
            return self._files[name]
        if self._fs is None or name not in self._names:
            raise Reject("missing_file", f"{name} is not in the package")
        with self._fs.open(posixpath.join(self.base, name), "rb") as f:
            return f.read()

    def size(self, name: str) -> int:
        if name in self._files:
            return len(self._files[name])
        return int(self._fs.size(posixpath.join(self.base, name))) if self._fs is not None else 0

    def candidates(self, href: str) -> list[str]:
        """Files a reference may mean, best first. JATS ``xlink:href`` often
        omits the extension, and PMC packages hold several files per figure
        (a full-size ``.jpg`` or ``.tif`` beside a 150 px ``.gif`` thumbnail,
        an ``.eps`` source): rasters before GIF before vector formats, then
        the file the reference names exactly, then the largest file."""
        href = href.strip().lstrip("./")
        base = posixpath.basename(href)
        stem = posixpath.splitext(base)[0].lower()
        same = [n for n in self._names if n == href or posixpath.basename(n) == base
                or (posixpath.splitext(posixpath.basename(n))[0].lower() in (stem, base.lower())
                    and n.lower().endswith(IMAGE_SUFFIXES))]
        named = {n for n in same if n == href or posixpath.basename(n) == base}
        return sorted(same, key=lambda n: (_format_rank(n), n not in named, -self.size(n), n.count("/"), n))

    def resolve(self, href: str) -> str | None:
        """The best file a reference may mean (see ``candidates``), None if none."""
        found = self.candidates(href)
        return found[0] if found else None


def _format_rank(name: str) -> int:
    low = name.lower()
    if low.endswith((".eps", ".pdf", ".svg")):
        return 2
    return 1 if low.endswith(".gif") else 0


def is_archive(uri: str) -> bool:
    return uri.lower().endswith(ARCHIVE_SUFFIXES)


def open_package(uri: str, storage_options: dict | None = None) -> PackageFiles:
    fs, path = fsspec.core.url_to_fs(uri, **(storage_options or {}))
    if is_archive(path):
        with fs.open(path, "rb") as f:
            return read_archive(f, uri)
    names = sorted(posixpath.relpath(p, path) for p in fs.find(path) if not fs.isdir(p))
    return PackageFiles(base=path, _fs=fs, _names=names)


def _unsafe(member: tarfile.TarInfo) -> tuple[str, str] | None:
    name = member.name
    if member.issym():
        return "unsafe_member:symlink", f"{name} -> {member.linkname}"
    if member.islnk():
        return "unsafe_member:hardlink", f"{name} => {member.linkname}"
    if not (member.isfile() or member.isdir()):
        return "unsafe_member:special", f"{name} is a device, FIFO or other special file"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "unsafe_member:absolute_path", name
    if ".." in name.replace("\\", "/").split("/"):
        return "unsafe_member:path_traversal", name
    return None


def read_archive(fileobj, uri: str) -> PackageFiles:
    """Stream a tar(.gz) once; keep regular files in memory under caps."""
    pkg = PackageFiles(base=uri)
    total = 0
    try:
        with tarfile.open(fileobj=fileobj, mode="r|*") as tar:
            for member in tar:
                bad = _unsafe(member)
                if bad:
                    pkg.rejects.append(MemberReject(member.name, *bad))
                    continue
                if member.isdir():
                    continue
                if member.size > MAX_MEMBER_BYTES:
                    pkg.rejects.append(MemberReject(member.name, "member_too_large", f"{member.size} bytes"))
                    continue
                total += member.size
                if total > MAX_PACKAGE_BYTES:
                    raise Reject("archive_too_large", f"over {MAX_PACKAGE_BYTES} bytes uncompressed")
                f = tar.extractfile(member)
                name = posixpath.normpath(member.name).lstrip("./") or member.name
                # packages usually wrap files in one top folder: keep relative paths
                pkg._files[name] = f.read() if f else b""
                pkg._names.append(name)
    except Reject:
        raise
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        if not pkg._names:
            raise Reject("corrupt_archive", describe(exc)) from None
        pkg.rejects.append(MemberReject(uri, "truncated_archive", describe(exc)))
    pkg._names.sort()
    return pkg


# -- discovery -------------------------------------------------------------
def _fingerprint(fs, infos: list[dict]) -> str:
    h = hashlib.sha256()
    for info in sorted(infos, key=lambda i: i["name"]):
        stamp = info.get("ETag") or info.get("etag") or info.get("mtime") or info.get("LastModified") or info.get("md5Hash") or ""
        h.update(f"{info['name']}\0{info.get('size')}\0{stamp}\n".encode())
    return h.hexdigest()[:32]


def _is_sciir_json(fs, path: str) -> bool:
    try:
        with fs.open(path, "rb") as f:
            head = f.read(4096).lstrip()
    except OSError:
        return False
    if not head.startswith(b"["):
        return False
    return b"image_id" in head or b"figure_caption" in head


def discover(uris: list[str], fmt: str = "auto", storage_options: dict | None = None) -> Iterator[Source]:
    """Yield sources under the given URIs (recursively), sorted by URI."""
    found: dict[str, Source] = {}
    for uri in uris:
        fs, root = fsspec.core.url_to_fs(uri, **(storage_options or {}))
        proto = uri.split("://", 1)[0] + "://" if "://" in uri else ""
        to_uri = (lambda p: proto + p) if proto else (lambda p: p)
        if not fs.exists(root):
            raise FileNotFoundError(f"input {uri} does not exist")
        if not fs.isdir(root):
            src = _classify_file(fs, root, fmt, to_uri)
            if src:
                found[src.uri] = src
            continue
        infos = fs.find(root, detail=True, withdirs=False)
        by_dir: dict[str, list[dict]] = {}
        for p, info in infos.items():
            info = dict(info, name=p)
            by_dir.setdefault(posixpath.dirname(p), []).append(info)
        claimed: set[str] = set()
        if fmt == "images":
            for d, files in sorted(by_dir.items()):
                if any(f["name"].lower().endswith(IMAGE_SUFFIXES) for f in files):
                    found[to_uri(d)] = Source(to_uri(d), "images", _fingerprint(fs, files))
            continue
        # JATS directory packages: a folder holding an XML file; its subtree belongs to it
        for d in sorted(by_dir, key=len):
            if any(d == c or d.startswith(c + "/") for c in claimed):
                continue
            if fmt in ("auto", "jats") and any(f["name"].lower().endswith(XML_SUFFIXES) for f in by_dir[d]):
                subtree = [i for dd, fs_ in by_dir.items() if dd == d or dd.startswith(d + "/") for i in fs_]
                found[to_uri(d)] = Source(to_uri(d), "jats", _fingerprint(fs, subtree))
                claimed.add(d)
        for p, info in infos.items():
            if any(posixpath.dirname(p) == c or p.startswith(c + "/") for c in claimed):
                continue
            src = _classify_file(fs, p, fmt, to_uri, info=dict(info, name=p))
            if src:
                found[src.uri] = src
    yield from (found[k] for k in sorted(found))


def _classify_file(fs, path: str, fmt: str, to_uri, info: dict | None = None) -> Source | None:
    info = info or dict(fs.info(path), name=path)
    low = path.lower()
    if is_archive(low) and fmt in ("auto", "jats"):
        return Source(to_uri(path), "jats", _fingerprint(fs, [info]))
    if low.endswith(".json") and fmt in ("auto", "sciir-json") and (fmt == "sciir-json" or _is_sciir_json(fs, path)):
        # the record file and the images it points at form the source
        return Source(to_uri(path), "sciir-json", _fingerprint(fs, [info]))
    return None


def read_json_records(data: bytes) -> list[dict]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Reject("encoding", f"not UTF-8: {exc}") from None
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Reject("json_malformed", str(exc)) from None
    if not isinstance(records, list):
        raise Reject("json_malformed", "expected a JSON list of records")
    return records
