"""Reader for plain image folders (one source per folder). Captions come
from an optional ``captions.jsonl`` (``{"file", "caption", "title"}`` per
line); the license must be given by the user, since a folder states none."""

from __future__ import annotations

import json
import posixpath

from sciir_dist.ingest.errors import Reject
from sciir_dist.ingest.model import Article, FigureRef, article_id_for, clean_id
from sciir_dist.ingest.packages import IMAGE_SUFFIXES, PackageFiles, open_package

CAPTIONS = ("captions.jsonl", "metadata.jsonl")


def _captions(files: PackageFiles) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for name in files.names():
        if posixpath.basename(name) in CAPTIONS and "/" not in name:
            data = files.read(name)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise Reject("encoding", f"{name} is not UTF-8: {exc}") from None
            for n, line in enumerate(text.splitlines(), 1):
                if line.strip():
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise Reject("json_malformed", f"{name} line {n}: {exc}") from None
                    key = rec.get("file") or rec.get("file_name") or rec.get("image")
                    if key:
                        out[posixpath.basename(key)] = rec
    return out


def read(uri: str, license_spdx: str | None, storage_options: dict | None = None) -> tuple[PackageFiles, list[Article]]:
    files = open_package(uri, storage_options)
    # only this folder's own images: sub-folders are sources of their own
    files._names = [n for n in files.names() if "/" not in n]
    caps = _captions(files)
    article = Article(
        article_id=article_id_for(None, uri),
        doi=None,
        title=posixpath.basename(uri.rstrip("/")),
        abstract=None,
        body=None,
        subjects=[],
        license=license_spdx,
        license_url=None,
    )
    for name in files.names():
        if not name.lower().endswith(IMAGE_SUFFIXES):
            continue
        rec = caps.get(name, {})
        article.figures.append(
            FigureRef(
                xml_id=clean_id(posixpath.splitext(name)[0]),
                label=rec.get("label"),
                title=rec.get("title"),
                caption=rec.get("caption") or "",
                href=name,
                credit=rec.get("credit"),
            )
        )
    return files, [article]
