"""`sciir split eval`: how well a splitter does on figures a user labelled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from sciir_dist.cli_common import (SPLIT_DEFAULTS, SplitterOpt, WeightsOpt, YoloClassOpt, YoloConfOpt, YoloDeviceOpt, YoloImgszOpt,
                                   YoloIouOpt, console, splitter_config)

split = typer.Typer(help="Panel splitting: score a splitter on labelled figures.", no_args_is_help=True)


@split.command("eval")
def eval_cmd(
    labels: Annotated[Path, typer.Argument(help="A COCO JSON file, a folder with annotations.json (+ images/), "
                                                "or a `sciir synth` corpus (a folder with manifest.json).")],
    images: Annotated[Optional[Path], typer.Option(help="Folder of the COCO file's images (default: beside it, or images/).")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Write report.json and worst.png (contact sheet) here.")] = None,
    worst: Annotated[int, typer.Option(help="Figures on the contact sheet and in the report's worst list.")] = 12,
    use_captions: Annotated[bool, typer.Option("--captions/--no-captions", help="Give the splitter the caption's panel count when the labels have captions.")] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    copies: Annotated[int, typer.Option(min=0, help=(
        "Also re-encode this many multi-panel figures (0.5x, 0.85x + JPEG 90, JPEG 60/95, 5 % brighter): how "
        "often a copy splits into the same panels, and dedup's pair recall/precision on exact, re-scaled and "
        "brightened copies."))] = 0,
    splitter: SplitterOpt = SPLIT_DEFAULTS.name,
    splitter_weights: WeightsOpt = None,
    yolo_imgsz: YoloImgszOpt = SPLIT_DEFAULTS.imgsz,
    yolo_conf: YoloConfOpt = SPLIT_DEFAULTS.conf,
    yolo_iou: YoloIouOpt = SPLIT_DEFAULTS.iou,
    yolo_class: YoloClassOpt = None,
    yolo_device: YoloDeviceOpt = SPLIT_DEFAULTS.device,
) -> None:
    """Precision, recall and F1 of a splitter at IoU 0.5 and 0.9, overall and per layout tag, as ingest would
    store the boxes; panel letters when the labels give them; a contact sheet of the worst figures; with
    --copies, whether re-encoded copies of the figures split and deduplicate as their originals."""
    from sciir_dist.split import make_splitter
    from sciir_dist.split.evaluate import contact_sheet, evaluate, iter_rows, load_labelled

    cfg = splitter_config(splitter, splitter_weights, yolo_imgsz, yolo_conf, yolo_iou, yolo_class, yolo_device)
    try:
        figures = load_labelled(labels, images)
    except (OSError, ValueError, KeyError) as exc:
        raise typer.BadParameter(str(exc)) from None
    if not figures:
        raise typer.BadParameter(f"{labels}: no labelled figures found")
    if not use_captions:
        for f in figures:
            f.caption = None
    try:
        sp = make_splitter(cfg)
    except (RuntimeError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    report, results = evaluate(figures, sp, worst=worst)
    doc = report.as_dict()
    if copies:
        from sciir_dist.split.copies import copies_report, ingest_split

        doc["copies"] = copies_report(figures, ingest_split(sp), copies)
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        sheet = contact_sheet(results, figures, out_dir / "worst.png", n=worst)
        doc["contact_sheet"] = str(sheet) if sheet else None
        (out_dir / "report.json").write_text(json.dumps(doc, indent=1))
    if json_out:
        print(json.dumps(doc))
        return
    t = Table(title=f"splitter {report.splitter}: {report.figures} figures, {report.panels_true} true panels")
    for col in ("layout", "IoU", "precision", "recall", "F1", "tp", "fp", "fn"):
        t.add_column(col, justify="right" if col not in ("layout",) else "left")
    for layout, thr, c in iter_rows(report):
        t.add_row(layout, thr.removeprefix("iou"), f"{c['precision']:.3f}", f"{c['recall']:.3f}", f"{c['f1']:.3f}",
                  str(c["tp"]), str(c["fp"]), str(c["fn"]))
    console.print(t)
    if report.captions:
        c = report.captions
        console.print(f"panel letters and sub-captions right: {c['ok']}/{c['total']} = {c['accuracy']:.3f}")
    console.print(f"speed: {report.panels_per_second:.1f} panels/s on one core ({report.seconds:.1f} s splitting)")
    if copies and not doc["copies"]["figures"]:
        console.print("copies: the labels hold no multi-panel figure to re-encode")
    elif copies:
        c = doc["copies"]
        console.print(f"copies of {c['figures']} figures split into the same panels: "
                      + ", ".join(f"{k} {v:.2f}" for k, v in c["stability"].items())
                      + f"; dedup recall {c['dedup']['recall']:.3f}, precision {c['dedup']['precision']:.3f}")
    if out_dir:
        console.print(f"report: {out_dir / 'report.json'}" + (f", worst figures: {doc['contact_sheet']}" if doc["contact_sheet"] else ""))
