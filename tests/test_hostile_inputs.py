"""Every §9 hostile input that reaches ingest becomes a specific reject while
the good items of the same run are ingested (real Spark, Lance on disk)."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from sciir_dist.ingest.pipeline import IngestOptions
from sciir_dist.ingest.run import run_ingest
from sciir_dist.warehouse import Warehouse

CC_BY = '<permissions><license xlink:href="https://creativecommons.org/licenses/by/4.0/"/></permissions>'


def figure_png(seed: int = 0, size=(640, 480), fmt="PNG", mode="RGB") -> bytes:
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    for _ in range(6):
        x, y = int(rng.integers(20, size[0] - 120)), int(rng.integers(20, size[1] - 120))
        d.rectangle((x, y, x + 100, y + 80), fill=tuple(int(v) for v in rng.integers(0, 255, 3)), outline="black")
    if mode != "RGB":
        img = img.convert(mode)
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def jats(doi: str, figs: list[tuple[str, str]], head: str = "", license_xml: str = CC_BY) -> str:
    fig_xml = "".join(
        f'<fig id="{fid}"><label>Figure</label><caption><p>A schematic.</p></caption><graphic xlink:href="{href}"/></fig>'
        for fid, href in figs
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{head}'
        '<article xmlns:xlink="http://www.w3.org/1999/xlink"><front><article-meta>'
        f'<article-id pub-id-type="doi">{doi}</article-id><title-group><article-title>T {doi}</article-title></title-group>'
        f"{license_xml}</article-meta></front><body><p>Body.</p>{fig_xml}</body></article>"
    )


def package(root: Path, name: str, xml: str | bytes, files: dict[str, bytes]) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / f"{name}.nxml").write_bytes(xml if isinstance(xml, bytes) else xml.encode())
    for fname, data in files.items():
        (d / fname).write_bytes(data)
    return d


def animated_gif() -> bytes:
    frames = [Image.open(io.BytesIO(figure_png(i))).convert("P") for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


def palette_alpha_png() -> bytes:
    img = Image.open(io.BytesIO(figure_png(5))).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    buf = io.BytesIO()
    img.save(buf, format="PNG", transparency=0)
    return buf.getvalue()


def sixteen_bit_png() -> bytes:
    arr = (np.asarray(Image.open(io.BytesIO(figure_png(6))).convert("L")).astype(np.uint16) * 257)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def bomb_png() -> bytes:
    buf = io.BytesIO()
    Image.new("1", (11000, 10000)).save(buf, format="PNG")  # 110 MP, a few kB
    return buf.getvalue()


def hostile_archive(path: Path) -> None:
    xml = jats("10.1/tar-hostile", [("f1", "good.png")]).encode()
    with tarfile.open(path, "w:gz") as tar:
        def add(name, data=b"", **kw):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            for k, v in kw.items():
                setattr(info, k, v)
            tar.addfile(info, io.BytesIO(data) if data else None)

        add("pkg/article.nxml", xml)
        add("pkg/good.png", figure_png(9))
        add("/etc/evil.png", b"x")
        add("pkg/../../escape.png", b"x")
        add("pkg/link.png", type=tarfile.SYMTYPE, linkname="/etc/passwd")
        add("pkg/hard.png", type=tarfile.LNKTYPE, linkname="pkg/good.png")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, spark_engine):
    root = tmp_path_factory.mktemp("hostile")
    good = figure_png(1)
    package(root, "good", jats("10.1/good", [("f1", "a.png"), ("f2", "b")]), {"a.png": good, "b.jpg": figure_png(2, fmt="JPEG")})
    png = figure_png(3)
    package(root, "images", jats("10.1/images", [
        ("trunc", "trunc.png"), ("junk", "junk.png"), ("zero", "zero.png"), ("eps", "fig.eps"), ("pdf", "fig.pdf"),
        ("svg", "fig.svg"), ("bomb", "bomb.png"), ("missing", "nowhere.png"), ("cmyk", "cmyk.jpg"),
        ("p16", "p16.png"), ("pal", "pal.png"), ("anim", "anim.gif"), ("ok", "ok.png"), ("ok", "ok2.png"),
    ]), {
        "trunc.png": png[: len(png) // 2], "junk.png": os.urandom(3000), "zero.png": b"",
        "fig.eps": b"%!PS-Adobe-3.0 EPSF-3.0\n", "fig.pdf": b"%PDF-1.7\n", "fig.svg": b'<svg xmlns="http://www.w3.org/2000/svg"/>',
        "bomb.png": bomb_png(), "cmyk.jpg": figure_png(4, fmt="JPEG", mode="CMYK"), "p16.png": sixteen_bit_png(),
        "pal.png": palette_alpha_png(), "anim.gif": animated_gif(), "ok.png": png, "ok2.png": figure_png(7),
    })
    package(root, "malformed", "<article><front>unclosed", {})
    xxe = '<!DOCTYPE article [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    package(root, "xxe", jats("10.1/xxe", [("f1", "a.png")], head=xxe).replace("<p>Body.</p>", "<p>&xxe;</p>"), {"a.png": good})
    laughs = '<!DOCTYPE article [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    package(root, "laughs", jats("10.1/laughs", [], head=laughs).replace("<p>Body.</p>", "<p>&c;</p>"), {})
    latin1 = jats("10.1/latin1", [("f1", "a.png")]).replace("T 10.1/latin1", "Caf\u00e9").encode("latin-1")
    package(root, "latin1", latin1, {"a.png": good})
    hostile_archive(root / "hostile.tar.gz")
    (root / "broken.tar.gz").write_bytes(b"\x1f\x8b\x08\x00" + os.urandom(200))
    wh = Warehouse(str(tmp_path_factory.mktemp("wh-hostile")))
    run_ingest([str(root)], wh, spark_engine, IngestOptions())
    return root, wh


def _rejects(wh):
    return {(r["item"], r["reason"]): r for r in wh.read("rejects").to_pylist()}


EXPECTED = {
    "trunc": "corrupt_image", "junk": "corrupt_image", "zero": "empty_file", "eps": "unsupported_format:eps",
    "pdf": "unsupported_format:pdf", "svg": "unsupported_format:svg", "bomb": "pixel_cap", "missing": "missing_file",
}


def test_bad_images_are_rejected_with_specific_reasons(hostile):
    _, wh = hostile
    from sciir_dist.ingest.model import article_id_for

    aid = article_id_for("10.1/images", "")
    rejects = _rejects(wh)
    for fig, reason in EXPECTED.items():
        assert (f"{aid}.{fig}", reason) in rejects, (fig, reason, sorted(rejects))
        assert rejects[(f"{aid}.{fig}", reason)]["detail"]
    assert (f"{aid}.ok", "duplicate_figure_id") in rejects


def test_unusual_modes_are_converted_and_ingested(hostile):
    _, wh = hostile
    from sciir_dist.ingest.model import article_id_for

    aid = article_id_for("10.1/images", "")
    figs = {r["figure_id"]: r for r in wh.read("figures", where=f"article_id = '{aid}'").to_pylist()}
    for fig in ("cmyk", "p16", "pal", "anim", "ok"):
        assert f"{aid}.{fig}" in figs, fig
        png = wh.read_blob("panels", "image", f"figure_id = '{aid}.{fig}'")[0]
        img = Image.open(io.BytesIO(png))
        assert img.size == (1024, 1024) and img.mode == "RGB"
    assert figs[f"{aid}.ok"]["image_path"] == "ok.png"  # first of the duplicate ids kept


def test_unsafe_xml_is_rejected(hostile):
    root, wh = hostile
    rejects = _rejects(wh)
    assert (str(root / "malformed"), "xml_malformed") in rejects
    assert (str(root / "xxe"), "xml_unsafe:external_entity") in rejects
    assert (str(root / "laughs"), "xml_unsafe:entities") in rejects
    assert (str(root / "latin1"), "encoding") in rejects
    assert "root:" not in " ".join(r["detail"] for r in rejects.values())  # /etc/passwd never read


def test_hostile_archive_members_are_refused_and_the_rest_ingested(hostile):
    root, wh = hostile
    rejects = {r for (_, r) in _rejects(wh)}
    for reason in ("unsafe_member:absolute_path", "unsafe_member:path_traversal", "unsafe_member:symlink", "unsafe_member:hardlink"):
        assert reason in rejects, reason
    from sciir_dist.ingest.model import article_id_for

    assert wh.count("panels", f"article_id = '{article_id_for('10.1/tar-hostile', '')}'") >= 1
    assert not (root.parent / "escape.png").exists()
    assert (str(root / "broken.tar.gz"), "corrupt_archive") in _rejects(wh)


def test_good_package_in_the_same_run_is_complete(hostile):
    _, wh = hostile
    from sciir_dist.ingest.model import article_id_for

    aid = article_id_for("10.1/good", "")
    assert wh.count("figures", f"article_id = '{aid}'") == 2  # "b" resolved by file stem to b.jpg
    assert wh.count("panels", f"article_id = '{aid}'") >= 2


def test_pixel_cap_is_configurable(tmp_path, local_engine):
    package(tmp_path / "in", "p", jats("10.1/cap", [("f1", "a.png")]), {"a.png": figure_png(1)})
    wh = Warehouse(str(tmp_path / "wh"))
    run_ingest([str(tmp_path / "in")], wh, local_engine, IngestOptions(max_pixels=100_000))
    assert wh.read("rejects", where="reason = 'pixel_cap'").num_rows == 1
