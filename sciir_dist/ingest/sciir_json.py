"""Reader for the SciIR reference crawler's ``metadata.json``: a list of
per-figure records beside an image folder, read exactly as the crawler
writes it.

What the crawler writes (``scir_dataset/metadata.json``, one record per
downloaded figure): ``image_id``, ``local_path`` (``scir_dataset/images/
sciir_img_000000.png``: relative to the crawler's working directory, i.e.
the JSON's *parent* folder, with ``\\`` separators when it ran on Windows),
``article_title``, ``article_abstract``, ``article_body``,
``source_citation``, ``figure_title``, ``figure_caption`` (one crawler
version writes ``sub_captions`` {letter: text} plus ``has_subfigures``
instead), ``figure_index``, ``image_url``, ``source_article_url``,
``figure_page_url``, ``license`` ("CC BY 4.0"), ``license_url``,
``subjects``, ``image_width``/``image_height``. There is no ``doi``.

Image paths are tried relative to the JSON's folder first, then to its
parent; ``figures.image_path`` records which: it is always relative to the
JSON's folder, so a path found under the parent starts with ``../``.
Records are grouped into articles by DOI, else by the article URL, else by
the title; without a DOI the article id hashes that key (not the JSON's
location), so the same input always gives the same ids.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

import fsspec

from sciir_dist.ingest import license as lic
from sciir_dist.ingest.errors import Reject
from sciir_dist.ingest.model import Article, FigureRef, article_id_for, clean_id
from sciir_dist.ingest.packages import PackageFiles, read_json_records

#: image path fields, the crawler's own (``local_path``) first
IMAGE_KEYS = ("local_path", "image_path", "image_file", "image", "path", "file")
_DRIVE = re.compile(r"^[A-Za-z]:/")


@dataclass
class CrawlerFiles(PackageFiles):
    """The images a crawler JSON points at. Names are paths relative to the
    JSON's folder (``../x`` for files found relative to its parent); each maps
    to the absolute path it was found at, so object stores never see ``..``."""

    located: dict[str, str] = field(default_factory=dict)

    def read(self, name: str) -> bytes:
        path = self.located.get(name)
        if path is None:
            raise Reject("missing_file", f"{name} is not beside the crawler JSON")
        with self._fs.open(path, "rb") as f:
            return f.read()

    def size(self, name: str) -> int:
        return int(self._fs.size(self.located[name])) if name in self.located else 0

    def candidates(self, href: str) -> list[str]:
        """Exact names only: the reader already tried both base folders, and
        a basename match could pick another record's image."""
        return [href] if href in self.located else []


def as_written(path: str) -> str:
    """The crawler's path with ``/`` separators and no leading ``./``."""
    p = path.strip().replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    return p


def locate(fs, json_dir: str, ref: str) -> tuple[str, str] | None:
    """(name relative to the JSON's folder, absolute path) of an image
    reference: relative to the JSON's folder, else to its parent (the
    crawler's working directory); None when it is in neither."""
    p = as_written(ref)
    if not p or p.startswith("/") or _DRIVE.match(p):
        return None  # absolute paths of the crawling machine mean nothing here
    parent = posixpath.dirname(json_dir)
    for name, full in ((p, posixpath.join(json_dir, p)), (f"../{p}", posixpath.join(parent, p))):
        if name.startswith("../") and parent == json_dir:
            continue  # the JSON sits at the root: it has no parent folder
        if fs.isfile(full):
            return name, full
    return None


def _image_ref(rec: dict) -> str | None:
    for k in IMAGE_KEYS:
        v = rec.get(k)
        if isinstance(v, str) and v.strip():
            return v
    return None


def _caption(rec: dict) -> tuple[str, tuple[tuple[int, int], ...]]:
    """(caption, bold spans): ``figure_caption``, else the crawler's
    ``sub_captions`` {letter: text} rebuilt as ``a text b text`` with each
    letter marked bold, as a publisher's caption sets its panel letters."""
    cap = rec.get("figure_caption")
    if isinstance(cap, str) and cap.strip():
        return cap, ()
    subs = rec.get("sub_captions")
    if not isinstance(subs, dict):
        return "", ()
    text, bold = "", []
    for letter, sub in sorted((str(k), v) for k, v in subs.items() if isinstance(v, str)):
        text += " " if text else ""
        bold.append((len(text), len(text) + len(letter)))
        text += f"{letter} {sub}"
    return text, tuple(bold)


def _label(rec: dict) -> str | None:
    if rec.get("figure_label"):
        return str(rec["figure_label"])
    idx = rec.get("figure_index")
    return f"Fig. {idx}" if isinstance(idx, int) else None


def _article_key(rec: dict, i: int) -> tuple[str | None, str]:
    """(doi, grouping key): DOI, else article URL, else title, else the record."""
    doi = rec.get("doi") if isinstance(rec.get("doi"), str) and rec["doi"].strip() else None
    if doi:
        return doi, f"doi:{doi}"
    for k in ("source_article_url", "article_url"):
        if isinstance(rec.get(k), str) and rec[k].strip():
            return None, f"url:{rec[k].strip()}"
    title = rec.get("article_title")
    if isinstance(title, str) and title.strip():
        return None, "title:" + " ".join(title.split()).casefold()
    return None, f"record:{i}"


def _new_article(rec: dict, aid: str, doi: str | None) -> Article:
    url = rec.get("license_url") if isinstance(rec.get("license_url"), str) else None
    label = rec.get("license") if isinstance(rec.get("license"), str) else None
    subjects = rec.get("subjects") or []
    return Article(
        article_id=aid,
        doi=doi,
        title=rec.get("article_title"),
        abstract=rec.get("article_abstract"),
        body=rec.get("article_body"),
        subjects=[str(s) for s in subjects] if isinstance(subjects, list) else [str(subjects)],
        license=lic.normalize(url, label),
        license_url=url,
    )


def read(uri: str, storage_options: dict | None = None) -> tuple[CrawlerFiles, list[Article]]:
    fs, path = fsspec.core.url_to_fs(uri, **(storage_options or {}))
    with fs.open(path, "rb") as f:
        records = read_json_records(f.read())
    json_dir = posixpath.dirname(path)
    articles: dict[str, Article] = {}
    located: dict[str, str] = {}
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise Reject("json_malformed", f"record {i} is not an object")
        doi, key = _article_key(rec, i)
        aid = article_id_for(doi, key if doi else f"sciir-json:{key}")
        art = articles.get(aid) or articles.setdefault(aid, _new_article(rec, aid, doi))
        ref = _image_ref(rec)
        found = locate(fs, json_dir, ref) if ref else None
        if found:
            located[found[0]] = found[1]
        caption, bold = _caption(rec)
        art.figures.append(
            FigureRef(
                xml_id=clean_id(str(rec.get("image_id") or f"rec{i}")),
                label=_label(rec),
                title=rec.get("figure_title"),
                caption=caption,
                bold=bold,
                # a reference found nowhere keeps its written form: the pipeline rejects it as missing_file
                href=found[0] if found else (as_written(ref) if ref else None),
                credit=rec.get("figure_credit"),
            )
        )
    return CrawlerFiles(base=json_dir, _fs=fs, _names=sorted(located), located=located), list(articles.values())
