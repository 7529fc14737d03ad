"""Score reports: a Table-1-style markdown table, CSV and JSON of every
figure, a PNG chart and a static HTML page (everything inline, opens from
disk). Written to any fsspec URI."""

from __future__ import annotations

import base64
import html
import io
import json

import pandas as pd

from sciir_dist.bench.score import CATEGORY_ORDER, SPLITS

COLUMNS = [short for _, short in CATEGORY_ORDER]


def _fmt(acc, lo=None, hi=None, with_ci: bool = False) -> str:
    if acc is None or pd.isna(acc):
        return "n/a"
    text = f"{100 * acc:.1f}"
    if with_ci and lo is not None and not pd.isna(lo):
        text += f" [{100 * lo:.1f}, {100 * hi:.1f}]"
    return text


def markdown(results: pd.DataFrame, meta: dict, with_ci: bool = False) -> str:
    """Rows = models (and groups), columns = category x {IR, IF, Avg}, then Final."""
    head = ["model"] + (["group"] if (results["group"] != "all").any() else [])
    cols = [f"{c} {s}" for c in COLUMNS for s in SPLITS] + ["Final"]
    lines = ["| " + " | ".join(head + cols) + " |", "|" + "---|" * (len(head) + len(cols))]
    for (model, group), part in results.groupby(["model", "group"], sort=True):
        get = {(r["category"], r["split"]): r for r in part.to_dict("records")}
        cells = [model] + ([group] if len(head) == 2 else [])
        for c in COLUMNS:
            for s in SPLITS:
                r = get.get((c, s))
                cells.append(_fmt(r["accuracy"], r["ci_low"], r["ci_high"], with_ci) if r else "")
        final = get.get(("Final", "Avg"))
        cells.append(_fmt(final["accuracy"], final["ci_low"], final["ci_high"], with_ci) if final else "")
        lines.append("| " + " | ".join(cells) + " |")
    cov = results[(results["split"] == "Avg") & (results["group"] == "all") & (results["category"] != "Final")]
    cov_line = ", ".join(f"{r['category']} {100 * r['coverage']:.0f}%" for r in
                         cov.groupby("category", sort=False)["coverage"].mean().reset_index().to_dict("records"))
    lines += ["", f"Judge `{meta['judge']}` (prompt version `{meta['prompt_version'] or '-'}`), "
                  f"{meta['samples']} samples, {meta['questions']} questions; accuracy in %, veto per category; "
                  f"95 % bootstrap CIs over samples ({meta['bootstrap']} resamples, seed {meta['seed']}).",
              f"Judged coverage (yes/no among questions of existing generations): {cov_line}."]
    note = not_available_note(results, meta)
    return "\n".join(lines + ([note] if note else [])) + "\n"


def not_available_note(results: pd.DataFrame, meta: dict) -> str | None:
    """Why a cell reads n/a, and how to fill it: a category whose questions the
    judge never answered yes/no has no accuracy (zero would be a lie), and Final
    needs all four categories."""
    cats = results[(results["split"] == "Avg") & (results["group"] == "all") & (results["category"] != "Final")]
    unjudged = sorted(set(cats.loc[cats["accuracy"].isna(), "category"]), key=COLUMNS.index)
    if not unjudged:
        return None
    why = (f"The judge `{meta['judge']}` answered no {', '.join(unjudged)} question (it abstained or was not run), "
           f"so {'those cells read' if len(unjudged) > 1 else 'that cell reads'} n/a and Final, the mean of all four "
           f"categories, is n/a too.")
    if meta["judge"] == "ocr":
        why += (" The offline OCR judge can only check rendered text; it abstains on every visual question "
                "(ScientificLaw, EntityStructure, ScientificProcess) rather than guess.")
    return (f"{why} For the full table, judge with a VLM and score its verdicts: `sciir bench judge --data ROOT "
            f"--vlm-url URL --vlm-model MODEL` then `sciir bench score --data ROOT --judge vlm:MODEL`.")


def chart_png(results: pd.DataFrame) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    avg = results[(results["split"] == "Avg") & (results["group"] == "all")]
    models = sorted(avg["model"].unique())
    cats = COLUMNS + ["Final"]
    fig = Figure(figsize=(1.6 + 1.2 * len(cats), 4), dpi=110)
    ax = fig.subplots()
    width = 0.8 / max(1, len(models))
    for i, m in enumerate(models):
        part = avg[avg["model"] == m].set_index("category")
        vals = [100 * (part["accuracy"].get(c) or 0) if c in part.index and pd.notna(part["accuracy"].get(c)) else 0
                for c in cats]
        ax.bar([j + i * width for j in range(len(cats))], vals, width, label=m)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(cats))], cats)
    ax.set_ylabel("accuracy (%), IR+IF pooled")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def html_page(results: pd.DataFrame, meta: dict, png: bytes) -> str:
    rows = results.to_dict("records")
    head = "".join(f"<th>{html.escape(c)}</th>" for c in results.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(r[c]))}</td>" for c in results.columns) + "</tr>" for r in rows)
    md = html.escape(markdown(results, meta, with_ci=True))
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>SciIR-Bench report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px}}</style>
</head><body><h1>SciIR-Bench report</h1>
<p>Judge <code>{html.escape(meta['judge'])}</code>, prompt version <code>{html.escape(meta['prompt_version'] or '-')}</code>;
models: {html.escape(', '.join(meta['models']))}.</p>
<img alt="accuracy per category" src="data:image/png;base64,{base64.b64encode(png).decode()}">
<h2>Table</h2><pre>{md}</pre><h2>All figures</h2><table><tr>{head}</tr>{body}</table></body></html>"""


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def write_report(results: pd.DataFrame, meta: dict, out_uri: str, storage_options: dict | None = None) -> dict[str, str]:
    import fsspec

    fs, root = fsspec.core.url_to_fs(out_uri, **(storage_options or {}))
    fs.makedirs(root, exist_ok=True)
    png = chart_png(results)
    files = {
        "table.md": markdown(results, meta, with_ci=True).encode(),
        "scores.csv": results.to_csv(index=False).encode(),
        "scores.json": json.dumps({"meta": meta, "results": results.astype(object).where(results.notna(), None)
                                  .to_dict("records")}, indent=1).encode(),
        "chart.png": png,
        "report.html": html_page(results, meta, png).encode(),
    }
    paths = {}
    for name, data in files.items():
        with fs.open(f"{root}/{name}", "wb") as f:
            f.write(data)
        paths[name] = f"{out_uri.rstrip('/')}/{name}"
    return paths
