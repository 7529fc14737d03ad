"""The SciIR reference crawler's ``metadata.json``, ingested as the crawler
writes it (MAIR-Lab-HUST/SciIR ``dataset_pipeline/01_crawl_nature.py``):
``local_path`` relative to the crawler's working directory (the JSON's
parent), no ``doi``, ``license`` "CC BY 4.0", ``figure_index``,
``source_article_url``; one crawler version writes ``sub_captions``
instead of ``figure_caption``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sciir_dist.ingest.run import run_ingest
from sciir_dist.warehouse import Warehouse
from tests.test_hostile_inputs import figure_png

ARTICLE_A = {
    "article_title": "Magnetic yarns that bend", "article_abstract": "We twist yarns.", "article_body": "## Main\n\nText.",
    "source_citation": "Doe, J. Magnetic yarns that bend. Nature 1, 2 (2025).",
    "source_article_url": "https://www.nature.com/articles/s41586-025-00001-1",
}
ARTICLE_B = {
    "article_title": "A second paper", "article_abstract": "Abs.", "article_body": "Body.", "source_citation": "",
    "source_article_url": "https://www.nature.com/articles/s41586-025-00002-2",
}


def crawler_record(n: int, article: dict, local_path: str, figure_index: int, **extra) -> dict:
    """One record with the crawler's field names and values."""
    rec = {
        "image_id": f"sciir_img_{n:06d}",
        "local_path": local_path,
        **{k: article[k] for k in ("article_title", "article_abstract", "article_body", "source_citation")},
        "figure_title": f"Figure {figure_index} title",
        "figure_caption": f"a, First part of figure {figure_index}. b, Second part.",
        "figure_index": figure_index,
        "image_url": f"https://media.springernature.com/full/fig{figure_index}.png",
        "source_article_url": article["source_article_url"],
        "figure_page_url": f"{article['source_article_url']}/figures/{figure_index}",
        "license": "CC BY 4.0",
        "license_url": "https://creativecommons.org/licenses/by/4.0/",
        "image_width": 640, "image_height": 480, "aspect_ratio": 1.3333,
        "subjects": ["Materials science", "Physics"],
    }
    rec.update(extra)
    return rec


def write_crawl(root: Path, records: list[dict], images: list[str]) -> Path:
    """``<root>/scir_dataset/{metadata.json, progress.json, images/}`` as the
    crawler leaves them (``json.dump(..., ensure_ascii=False, indent=4)``);
    image paths are relative to ``root`` (the crawler's working directory)."""
    out = root / "scir_dataset"
    (out / "images").mkdir(parents=True)
    for i, rel in enumerate(images):
        (root / rel).write_bytes(figure_png(10 + i))
    (out / "metadata.json").write_text(json.dumps(records, ensure_ascii=False, indent=4), encoding="utf-8")
    (out / "progress.json").write_text(json.dumps({"last_page": 6, "processed_article_urls": [],
                                                   "last_batch_images": 3, "last_update_time": "2025-01-01 00:00:00"}))
    return out


def test_crawler_metadata_as_written(tmp_path, local_engine):
    records = [
        crawler_record(0, ARTICLE_A, "scir_dataset/images/sciir_img_000000.png", 1),
        crawler_record(1, ARTICLE_A, "scir_dataset\\images\\sciir_img_000001.png", 2),  # the crawler run on Windows
        crawler_record(2, ARTICLE_B, "scir_dataset/images/sciir_img_000002.png", 1),  # its image was deleted
    ]
    crawl = write_crawl(tmp_path / "work", records, ["scir_dataset/images/sciir_img_000000.png",
                                                     "scir_dataset/images/sciir_img_000001.png"])
    wh = Warehouse(str(tmp_path / "wh"))
    run_ingest([str(crawl)], wh, local_engine)

    arts = {a["title"]: a for a in wh.read("articles").to_pylist()}
    assert set(arts) == {"Magnetic yarns that bend", "A second paper"}  # grouped per article, no doi
    a = arts["Magnetic yarns that bend"]
    assert a["doi"] is None and a["license"] == "CC-BY-4.0" and a["source_format"] == "sciir-json"
    assert a["license_url"] == "https://creativecommons.org/licenses/by/4.0/"
    assert a["subjects"] == ["Materials science", "Physics"] and a["abstract"] == "We twist yarns."
    figs = {f["figure_xml_id"]: f for f in wh.read("figures").to_pylist()}
    assert set(figs) == {"sciir_img_000000", "sciir_img_000001"}
    f0 = figs["sciir_img_000000"]
    assert f0["article_id"] == a["article_id"] and f0["label"] == "Fig. 1" and f0["title"] == "Figure 1 title"
    assert f0["caption"].startswith("a, First part of figure 1.")
    # found relative to the JSON's parent folder (the crawler's working dir): recorded with "../"
    assert f0["image_path"] == "../scir_dataset/images/sciir_img_000000.png"
    assert figs["sciir_img_000001"]["image_path"] == "../scir_dataset/images/sciir_img_000001.png"
    missing = wh.read("rejects", where="reason = 'missing_file'").to_pylist()
    assert len(missing) == 1 and missing[0]["article_id"] == arts["A second paper"]["article_id"]

    # the same input gives the same ids, wherever the crawl folder lies
    moved = tmp_path / "elsewhere" / "work"
    shutil.copytree(tmp_path / "work", moved)
    wh2 = Warehouse(str(tmp_path / "wh2"))
    run_ingest([str(moved / "scir_dataset")], wh2, local_engine)
    assert sorted(wh2.read("articles").column("article_id").to_pylist()) == sorted(x["article_id"] for x in arts.values())
    assert sorted(wh2.read("panels").column("panel_id").to_pylist()) == sorted(wh.read("panels").column("panel_id").to_pylist())


def test_crawler_paths_relative_to_the_json_and_sub_captions(tmp_path, local_engine):
    """Paths relative to the JSON's own folder are read too (and recorded
    without ``../``); without a URL or DOI, records group by title; the
    ``sub_captions`` variant becomes a lettered caption."""
    records = [
        crawler_record(0, ARTICLE_A, "images/sciir_img_000000.png", 1),
        crawler_record(1, ARTICLE_A, "images/sciir_img_000001.png", 2, figure_caption=None, has_subfigures=True,
                       sub_captions={"b": "Open state of the channel.", "a": "Closed state of the channel."}),
    ]
    for r in records:
        del r["source_article_url"]
    crawl = write_crawl(tmp_path, records, ["scir_dataset/images/sciir_img_000000.png",
                                            "scir_dataset/images/sciir_img_000001.png"])
    wh = Warehouse(str(tmp_path / "wh"))
    run_ingest([str(crawl / "metadata.json")], wh, local_engine)
    assert wh.count("articles") == 1
    figs = {f["figure_xml_id"]: f for f in wh.read("figures").to_pylist()}
    assert figs["sciir_img_000000"]["image_path"] == "images/sciir_img_000000.png"
    assert figs["sciir_img_000001"]["caption"] == "a Closed state of the channel. b Open state of the channel."
    assert wh.count("rejects", "reason = 'missing_file'") == 0
