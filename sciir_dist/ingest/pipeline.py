"""Ingest of one source, engine-free: read -> license/third-party gates ->
decode -> split -> sub-captions -> standardize -> table rows.

Engines (local, Spark) call :func:`process_source` per source and write
the rows; nothing here knows where it runs. Every problem with an input
becomes a reject row and processing continues with the next item.
"""

from __future__ import annotations

import hashlib
import traceback
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from sciir_dist.data.subject_categories import from_table
from sciir_dist.ingest import image_folder, jats, sciir_json, subcaptions
from sciir_dist.ingest import license as lic
from sciir_dist.ingest.errors import Reject
from sciir_dist.ingest.images import DEFAULT_MAX_PIXELS, decode
from sciir_dist.ingest.model import Article, FigureRef, figure_id_for, panel_id_for, reject_id_for
from sciir_dist.ingest.packages import PackageFiles, Source, open_package
from sciir_dist.split import Hints, Splitter, SplitterConfig, make_splitter
from sciir_dist.split.geometry import Box, geometric_reason, reading_order
from sciir_dist.split.letters import find_letters, letters_of
from sciir_dist.ingest.standardize import StandardizeOptions, standardize

STAGE = "ingest"


@dataclass(frozen=True)
class IngestOptions:
    allow_licenses: tuple[str, ...] = lic.DEFAULT_ALLOW
    #: license of image-folder sources (folders state none)
    folder_license: str | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS
    #: credit phrases that mark third-party figures (regular expressions)
    third_party_phrases: tuple[str, ...] = lic.THIRD_PARTY_PHRASES
    splitter: SplitterConfig = SplitterConfig()
    standardize: StandardizeOptions = StandardizeOptions()
    #: fsspec options for reading inputs (the warehouse has its own)
    storage_options: dict = field(default_factory=dict)


@dataclass
class SourceResult:
    source: Source
    article_ids: list[str] = field(default_factory=list)
    articles: list[dict] = field(default_factory=list)
    figures: list[dict] = field(default_factory=list)
    panels: list[dict] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)

    def reject(self, item: str, reason: str, detail: str = "", article_id: str | None = None) -> None:
        self.rejects.append(
            {
                "reject_id": reject_id_for(STAGE, item, reason),
                "item": item,
                "stage": STAGE,
                "reason": reason,
                "detail": detail,
                "article_id": article_id,
                "source_uri": self.source.uri,
            }
        )

    @property
    def status(self) -> str:
        return "ingested" if self.articles else "rejected"

    def rows(self, table: str) -> list[dict]:
        if table == "sources":
            return [
                {
                    "source_uri": self.source.uri,
                    "source_fingerprint": self.source.fingerprint,
                    "source_format": self.source.format,
                    "article_ids": self.article_ids,
                    "status": self.status,
                }
            ]
        return getattr(self, table)


_SPLITTERS: dict[SplitterConfig, Splitter] = {}


def _splitter(cfg: SplitterConfig) -> Splitter:
    """One splitter per worker process and configuration (models load once)."""
    if cfg not in _SPLITTERS:
        _SPLITTERS[cfg] = make_splitter(cfg)
    return _SPLITTERS[cfg]


def read_source(src: Source, opts: IngestOptions) -> tuple[PackageFiles, list[Article]]:
    if src.format == "jats":
        files = open_package(src.uri, opts.storage_options)
        return files, [jats.read(files, src.uri)]
    if src.format == "sciir-json":
        return sciir_json.read(src.uri, opts.storage_options)
    if src.format == "images":
        if not opts.folder_license:
            raise Reject("license:unknown", "image folders need --license (an SPDX id)")
        return image_folder.read(src.uri, lic.normalize(opts.folder_license) or opts.folder_license, opts.storage_options)
    raise Reject("unsupported_source", f"unknown source format {src.format!r}")


def process_source(src: Source, opts: IngestOptions) -> SourceResult:
    res = SourceResult(source=src)
    try:
        files, articles = read_source(src, opts)
    except Reject as r:
        res.reject(src.uri, r.reason, r.detail)
        return res
    except Exception as exc:  # noqa: BLE001 - an unexpected reader failure rejects the source, not the job
        res.reject(src.uri, f"internal_error:{type(exc).__name__}", traceback.format_exc(limit=5))
        return res
    for m in files.rejects:
        res.reject(f"{src.uri}!{m.member}", m.reason, m.detail)
    for art in articles:
        res.article_ids.append(art.article_id)
        reason = lic.license_reason(art.license, opts.allow_licenses)
        if reason:
            evidence = f"; {art.license_evidence}" if art.license_evidence else ""
            res.reject(art.article_id, reason, f"license {art.license or 'not stated'} ({art.license_url or 'no URL'}) is not in the allow-list {list(opts.allow_licenses)}{evidence}", art.article_id)
            continue
        res.articles.append(_article_row(art, src))
        seen: set[str] = set()
        for ref in art.figures:
            fid = figure_id_for(art.article_id, ref.xml_id)
            if fid in seen:
                res.reject(fid, "duplicate_figure_id", f"figure id {ref.xml_id!r} occurs more than once; first kept", art.article_id)
                continue
            seen.add(fid)
            try:
                _figure(res, files, art, ref, fid, opts)
            except Reject as r:
                res.reject(fid, r.reason, f"{ref.href or '(no file)'}: {r.detail}", art.article_id)
            except Exception as exc:  # noqa: BLE001
                res.reject(fid, f"internal_error:{type(exc).__name__}", traceback.format_exc(limit=5), art.article_id)
    return res


def _article_row(art: Article, src: Source) -> dict:
    return {
        "article_id": art.article_id,
        "doi": art.doi,
        "title": art.title,
        "abstract": art.abstract,
        "abstracts": art.abstracts,
        "body": art.body,
        "subjects": art.subjects,
        "discipline": (from_table(art.subjects or []) or (None,))[0],
        "license": art.license,
        "license_url": art.license_url,
        "source_uri": src.uri,
        "source_format": src.format,
        "source_fingerprint": src.fingerprint,
    }


def _figure(res: SourceResult, files: PackageFiles, art: Article, ref: FigureRef, fid: str, opts: IngestOptions) -> None:
    if ref.sub_article:
        raise Reject("sub_article", f"figure of a {ref.sub_article} sub-article, not of the article itself")
    # panel markers are not credit lines: "(C) 2011 survey" after "(A)" and "(B)"
    caption = ref.caption
    for s, e in subcaptions.marker_spans(ref.caption, ref.bold):
        caption = caption[:s] + " " * (e - s) + caption[e:]
    marker = lic.third_party_marker(caption, ref.credit, ref.title, phrases=opts.third_party_phrases)
    if marker:
        raise Reject("third_party", f"caption/credit marks third-party material ({marker!r})")
    if not ref.href:
        raise Reject("missing_file", "the figure references no image file")
    name, data, img = _open_image(files, ref.href, opts)
    w, h = img.size
    panels = split_figure(img, _splitter(opts.splitter), ref.caption, ref.bold)
    single = len(panels) == 1
    kept = 0
    for idx, (box, letter, sub) in enumerate(panels):
        pid = panel_id_for(fid, idx)
        why = geometric_reason(box, w, h, single=single)
        if why:
            bw, bh = box[2] - box[0], box[3] - box[1]
            res.reject(pid, why, f"panel {idx} bbox {list(box)} ({bw}x{bh} of {w}x{h}) fails the {why} filter", art.article_id)
            continue
        std = standardize(img if box == (0, 0, w, h) else img.crop(box), opts.standardize)
        res.panels.append(
            {
                "panel_id": pid,
                "figure_id": fid,
                "article_id": art.article_id,
                "panel_index": idx,
                "panel_letter": letter,
                "bbox": list(box),
                "sub_caption": sub,
                "split_method": "whole" if single else opts.splitter.name,
                "source_width": box[2] - box[0],
                "source_height": box[3] - box[1],
                "fill_color": list(std.fill),
                "sha256": hashlib.sha256(std.png).hexdigest(),
                "image": std.png,
            }
        )
        kept += 1
    res.figures.append(
        {
            "figure_id": fid,
            "article_id": art.article_id,
            "figure_xml_id": ref.xml_id,
            "label": ref.label,
            "title": ref.title,
            "caption": ref.caption,
            "image_path": name,
            "image_format": name.rsplit(".", 1)[-1].lower() if "." in name else None,
            "width": w,
            "height": h,
            "sha256": hashlib.sha256(data).hexdigest(),
            "num_panels": kept,
            "image": data,
        }
    )


def _open_image(files: PackageFiles, href: str, opts: IngestOptions) -> tuple[str, bytes, Image.Image]:
    """(file name, bytes, image) of the best file the reference may mean that
    decodes; the first candidate's error when none does."""
    names = files.candidates(href)
    if not names:
        raise Reject("missing_file", "referenced image is not in the package")
    first: Reject | None = None
    for name in names:
        data = files.read(name)
        try:
            return name, data, decode(data, max_pixels=opts.max_pixels)
        except Reject as r:
            first = first or r
    raise first


def flatten(img: Image.Image) -> Image.Image:
    """RGB for the splitter: transparency composited over white (the page)."""
    if img.mode == "RGBA":
        flat = Image.new("RGB", img.size, (255, 255, 255))
        flat.paste(img, mask=img.getchannel("A"))
        return flat
    return img.convert("RGB")


def split_figure(img: Image.Image, splitter: Splitter, caption: str | None,
                 bold: tuple[tuple[int, int], ...] = ()) -> list[tuple[Box, str | None, str | None]]:
    """(bbox, panel_letter, sub_caption) per panel in reading order, bbox in
    source pixels after EXIF orientation. The panel letters drawn in the image
    and the count the caption's markers name are the splitter's hints; the
    drawn letters also attach sub-captions. A single panel covers the whole
    figure (SPEC §3)."""
    native = np.asarray(flatten(img))
    rgb, scale = canonical(native)
    # letters are read at full resolution (a shrunk letter reads worse), then
    # placed where the splitter sees them
    letters = [replace(lt, box=_rescale(lt.box, scale)) for lt in find_letters(native)]
    expected = subcaptions.marker_count(caption, bold) if caption is not None else None
    found = reading_order(splitter(rgb, Hints(expected, tuple(letters))))
    drawn = letters_of(found, letters)
    boxes = [_unscale(b, scale, img.width, img.height) for b in found]
    if len(boxes) <= 1:
        boxes = [(0, 0, img.width, img.height)]
    if caption is None:
        return [(b, None, None) for b in boxes]
    labels = subcaptions.assign(caption, len(boxes), drawn if len(found) == len(boxes) else None, bold)
    return [(b, letter, sub) for b, (letter, sub) in zip(boxes, labels)]


#: larger figures are split at this longer side: copies of one figure at
#: different sizes meet the same thresholds, and a 4000 px scan costs what a
#: 1280 px one does. Smaller ones are left as they are (enlarging blurs thin
#: separator lines and letters more than it steadies anything).
CANONICAL_SIDE = 1280


def canonical(rgb: np.ndarray, side: int = CANONICAL_SIDE) -> tuple[np.ndarray, float]:
    """The figure shrunk to ``side`` on its longer side when larger, and the factor."""
    import cv2

    h, w = rgb.shape[:2]
    scale = min(1.0, side / max(h, w))
    if abs(scale - 1) < 1e-3:
        return np.ascontiguousarray(rgb), 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), scale


def _rescale(box: Box, scale: float) -> Box:
    x0, y0, x1, y1 = box
    return (int(x0 * scale), int(y0 * scale), max(int(x0 * scale) + 1, round(x1 * scale)),
            max(int(y0 * scale) + 1, round(y1 * scale)))


def _unscale(box: Box, scale: float, w: int, h: int) -> Box:
    x0, y0, x1, y1 = box
    return (max(0, int(x0 / scale)), max(0, int(y0 / scale)), min(w, int(np.ceil(x1 / scale))), min(h, int(np.ceil(y1 / scale))))
