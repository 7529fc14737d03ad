"""Reader for the SciIR reference crawler's metadata JSON: a list of
per-figure records beside an image folder. Records are grouped into
articles by DOI (else by article title)."""

from __future__ import annotations

import posixpath

import fsspec

from sciir_dist.ingest import license as lic
from sciir_dist.ingest.errors import Reject
from sciir_dist.ingest.model import Article, FigureRef, article_id_for, clean_id
from sciir_dist.ingest.packages import PackageFiles, read_json_records

IMAGE_KEYS = ("image_path", "local_path", "image_file", "image", "path", "file")


def _image_path(rec: dict) -> str | None:
    for k in IMAGE_KEYS:
        v = rec.get(k)
        if isinstance(v, str) and v:
            return v
    return None


def read(uri: str, storage_options: dict | None = None) -> tuple[PackageFiles, list[Article]]:
    fs, path = fsspec.core.url_to_fs(uri, **(storage_options or {}))
    with fs.open(path, "rb") as f:
        records = read_json_records(f.read())
    base = posixpath.dirname(path)
    articles: dict[str, Article] = {}
    refs: list[str] = []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise Reject("json_malformed", f"record {i} is not an object")
        doi = rec.get("doi") or None
        key = doi or rec.get("article_title") or f"record-{i}"
        aid = article_id_for(doi, f"{uri}#{key}")
        art = articles.get(aid)
        if art is None:
            statement = rec.get("license_url") or rec.get("license")
            subjects = rec.get("subjects") or []
            art = articles[aid] = Article(
                article_id=aid,
                doi=doi,
                title=rec.get("article_title"),
                abstract=rec.get("article_abstract"),
                body=rec.get("article_body"),
                subjects=[str(s) for s in subjects] if isinstance(subjects, list) else [str(subjects)],
                license=lic.normalize(statement) if statement else None,
                license_url=rec.get("license_url") if isinstance(rec.get("license_url"), str) else None,
            )
        img = _image_path(rec)
        if img:
            refs.append(img)
        art.figures.append(
            FigureRef(
                xml_id=clean_id(str(rec.get("image_id") or f"rec{i}")),
                label=rec.get("figure_label"),
                title=rec.get("figure_title"),
                caption=rec.get("figure_caption") or "",
                href=img,
                credit=rec.get("figure_credit"),
            )
        )
    names = [r for r in dict.fromkeys(refs) if fs.exists(posixpath.join(base, r))]
    return PackageFiles(base=base, _fs=fs, _names=names), list(articles.values())
