"""`sciir bench ...`: load or build a benchmark, write checklists, sweep
generators, judge, score and correlate (SPEC §6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from sciir_dist.cli_common import (DataOpt, Fmt, ModelConfigOpt, ProtocolOpt, SetOpt, StorageOpt, console, endpoint, model_settings,
                                   print_table, protocol_name, warehouse)

bench = typer.Typer(help="SciIR-Bench: load/build, checklist, sweep, judge, score, correlate.", no_args_is_help=True)

UrlOpt = Annotated[Optional[str], typer.Option(envvar="SCIIR_VLM_URL", help="OpenAI-compatible base URL (default: offline).")]
ModelOpt = Annotated[Optional[str], typer.Option(envvar="SCIIR_VLM_MODEL", help="Model name at the URL.")]
AddressOpt = Annotated[Optional[str], typer.Option(envvar="RAY_ADDRESS", help="Ray cluster address (default: local Ray).")]
RetryOpt = Annotated[bool, typer.Option(help="Also redo items that failed before.")]
ProgressOpt = Annotated[bool, typer.Option(help="Show progress bars.")]
JudgeOpt = Annotated[Optional[str], typer.Option(help="Score verdicts of this judge (e.g. ocr, vlm:<model>).")]
JudgeVersionOpt = Annotated[Optional[str], typer.Option(help="... and this judge prompt version.")]
BootstrapOpt = Annotated[int, typer.Option(help="Bootstrap resamples for the 95 % CIs.")]
BootstrapSeedOpt = Annotated[int, typer.Option(help="Bootstrap seed.")]


def _fail(exc: Exception):
    raise typer.BadParameter(str(exc)) from None


@bench.command()
def load(path: Annotated[Path, typer.Argument(help="The release folder (<mode>/<group>/{caption,checklist}.json).")],
         data: DataOpt, storage_option: StorageOpt = None) -> None:
    """Import the published SciIR-Bench into bench_samples and bench_questions (idempotent)."""
    from sciir_dist.bench.load import ReleaseError, load_release

    try:
        counts = load_release(warehouse(data, storage_option), path)
    except ReleaseError as exc:
        _fail(exc)
    console.print(f"loaded {counts['samples']} samples, {counts['questions']} questions"
                  + (f"; {counts['checklist_invalid']} checklists invalid (rejects)" if counts["checklist_invalid"] else ""))


@bench.command()
def build(data: DataOpt,
          per_split: Annotated[int, typer.Option(help="Samples per mode (IF, IR) and group, as the published "
                                                     "release's 100.")] = 100,
          seed: Annotated[int, typer.Option(help="Seed of the per-group sampling.")] = 0,
          replace: Annotated[bool, typer.Option(help="Drop built samples the new selection leaves out.")] = False,
          storage_option: StorageOpt = None) -> None:
    """Select a benchmark from curated panels by the paper's protocol: N IF + N IR per group."""
    from sciir_dist.bench.build import build as run

    try:
        res = run(warehouse(data, storage_option), per_split=per_split, seed=seed, replace=replace)
    except ValueError as exc:
        _fail(exc)
    console.print(f"selected {res['selected']} samples ({res['dropped']} dropped): {res['by_mode_group']}")
    for split, n in sorted(res["short"].items()):
        console.print(f"[yellow]{split}: only {n} candidate(s) after the filters, fewer than --per-split {per_split}[/]")


@bench.command()
def checklist(data: DataOpt, text_url: UrlOpt = None, text_model: ModelOpt = None,
              model_config: ModelConfigOpt = None, set_: SetOpt = None,
              address: AddressOpt = None, retry_rejects: RetryOpt = False, progress: ProgressOpt = True,
              storage_option: StorageOpt = None) -> None:
    """Atomic checklists (text model, or offline templates) for samples without questions."""
    from sciir_dist.bench.checklist import run_checklist

    wh = warehouse(data, storage_option)
    text = endpoint(wh, text_url, text_model, "text", role=model_settings(model_config, set_).role("text"))
    try:
        run_checklist(wh, text, address=address, retry_rejects=retry_rejects,
                      progress=progress).render(console)
    except ValueError as exc:
        _fail(exc)


@bench.command()
def sweep(data: DataOpt,
          models: Annotated[Path, typer.Option(help="TOML/YAML file of models (name, backend, options, seeds, concurrency).")],
          where: Annotated[Optional[str], typer.Option(help="Only samples matching this SQL filter on bench_samples.")] = None,
          address: AddressOpt = None, retry_errors: Annotated[bool, typer.Option(help="Redo generations that failed.")] = False,
          commit_every: Annotated[int, typer.Option(help="Commit every N generations.")] = 200,
          progress: ProgressOpt = True, storage_option: StorageOpt = None) -> None:
    """Generate an image per model x sample x seed on Ray (resumable)."""
    from sciir_dist.bench.models_file import load_models
    from sciir_dist.bench.sweep import run_sweep

    try:
        specs = load_models(models)
        run_sweep(warehouse(data, storage_option), specs, address=address, where=where, retry_errors=retry_errors,
                  commit_every=commit_every, progress=progress).render(console)
    except ValueError as exc:
        _fail(exc)


@bench.command()
def judge(data: DataOpt, vlm_url: UrlOpt = None, vlm_model: ModelOpt = None,
          judge: Annotated[Optional[list[str]], typer.Option(
              "--judge", help="Judge(s): ocr, vlm:<model> (at --vlm-url) or vlm:<model>@<url>; several make an ensemble "
                              "(default: vlm:<--vlm-model>, or ocr offline).")] = None,
          combine: Annotated[str, typer.Option(help="Ensemble rule for several --judge: majority or unanimous-yes.")] = "majority",
          protocol: ProtocolOpt = "sciir", model_config: ModelConfigOpt = None, set_: SetOpt = None,
          max_questions: Annotated[int, typer.Option(help="Questions per request; longer checklists are split.")] = 40,
          seed: Annotated[Optional[int], typer.Option(help="Sampling seed sent with each request (test-retest at "
                                                           "temperature > 0); stored as judge vlm:<model>+seed<N>.")] = None,
          vlm_max_in_flight: Annotated[int, typer.Option(help="Requests in flight per actor.")] = 32,
          vlm_retries: Annotated[int, typer.Option(help="Retries per request.")] = 4,
          vlm_timeout: Annotated[float, typer.Option(help="Seconds per request.")] = 180.0,
          address: AddressOpt = None, retry_rejects: RetryOpt = False, progress: ProgressOpt = True,
          storage_option: StorageOpt = None) -> None:
    """Judge every generation: a VLM reviewer (--vlm-url), the offline OCR judge, or an ensemble of judges."""
    from sciir_dist.bench.judge import EnsembleSpec, JudgeSpec, parse_judge, run_ensemble, run_judge

    wh = warehouse(data, storage_option)
    settings = model_settings(model_config, set_)
    vision = endpoint(wh, vlm_url, vlm_model, "vlm", role=settings.role("judge"), max_in_flight=vlm_max_in_flight,
                      max_retries=vlm_retries, timeout_s=vlm_timeout)
    protocol = protocol_name(protocol)
    try:
        specs = [parse_judge(j, vision, max_questions, protocol) for j in judge] if judge else \
            [JudgeSpec(vision, max_questions, protocol)]
        specs = [s.with_seed(seed) for s in specs]
        ensemble = EnsembleSpec(tuple((s.name, s.version) for s in specs), combine) if len(specs) > 1 else None
        for spec in specs:
            run_judge(wh, spec, address=address, retry_rejects=retry_rejects, progress=progress).render(console)
        if ensemble:
            run_ensemble(wh, ensemble).render(console)
            console.print(f"score it: sciir bench score --judge '{ensemble.name}'")
    except ValueError as exc:
        _fail(exc)


@bench.command()
def score(data: DataOpt,
          by: Annotated[Optional[str], typer.Option(help="'group' adds a row per benchmark group.")] = None,
          judge: JudgeOpt = None, judge_version: JudgeVersionOpt = None,
          protocol: Annotated[Optional[str], typer.Option(help="Only verdicts made under this protocol (sciir, strict-index).")] = None,
          models: Annotated[Optional[str], typer.Option(help="Comma-separated models (default: all).")] = None,
          exclude_unjudged: Annotated[bool, typer.Option(help="Leave abstained/unjudged questions out of the veto.")] = False,
          bootstrap: BootstrapOpt = 1000, seed: BootstrapSeedOpt = 0,
          out: Annotated[Optional[str], typer.Option(help="Report folder or URI (default: <data>/reports/<judge>).")] = None,
          json_out: Annotated[bool, typer.Option("--json", help="Print all figures as JSON.")] = False,
          storage_option: StorageOpt = None) -> None:
    """The paper's veto metric (IR / IF / Avg x SL, ES, SP, Text; Final) with CIs and a report."""
    from sciir_dist.bench.report import markdown, write_report
    from sciir_dist.bench.score import ScoreError, ScoreOptions, score as run

    if by not in (None, "group"):
        raise typer.BadParameter("--by takes 'group'")
    wh = warehouse(data, storage_option)
    opts = ScoreOptions(judge=judge, prompt_version=judge_version, protocol=protocol and protocol_name(protocol),
                        by_group=by == "group",
                        models=tuple(m.strip() for m in models.split(",")) if models else None,
                        exclude_unjudged=exclude_unjudged, bootstrap=bootstrap, seed=seed)
    try:
        results, meta = run(wh, opts)
    except ScoreError as exc:
        _fail(exc)
    target = out or f"{wh.root.rstrip('/')}/reports/{meta['judge'].replace(':', '_').replace('/', '_')}"
    paths = write_report(results, meta, target, wh.storage_options)
    if json_out:
        print(json.dumps({"meta": meta, "results": json.loads(results.to_json(orient="records")), "report": paths}))
        return
    console.print(markdown(results, meta, with_ci=True))
    console.print(f"report: {paths['report.html']}")


@bench.command()
def correlate(data: DataOpt, human: Annotated[Path, typer.Option(help="CSV with sample_id, rating (and optionally model).")],
              model: Annotated[Optional[str], typer.Option(help="The model the ratings are about.")] = None,
              per_sample: Annotated[str, typer.Option(
                  help="A sample's score: passrate (share of its questions answered yes, the paper's appendix G) "
                       "or veto (mean of its per-category veto values).")] = "passrate",
              judge: JudgeOpt = None, judge_version: JudgeVersionOpt = None,
              bootstrap: BootstrapOpt = 1000, seed: BootstrapSeedOpt = 0,
              storage_option: StorageOpt = None) -> None:
    """Pearson r, Kendall tau and Spearman rho (with bootstrap 95 % CIs) of per-sample scores against human ratings."""
    from sciir_dist.bench.correlate import PerSample, correlate as run
    from sciir_dist.bench.score import ScoreOptions

    try:
        how = PerSample(per_sample)
    except ValueError:
        raise typer.BadParameter(f"--per-sample takes passrate or veto, not {per_sample!r}") from None
    try:
        res = run(warehouse(data, storage_option), str(human),
                  ScoreOptions(judge=judge, prompt_version=judge_version, bootstrap=bootstrap, seed=seed), model, how)
    except ValueError as exc:
        _fail(exc)
    import pyarrow as pa

    print_table(pa.Table.from_pylist([res]))


@bench.command()
def agreement(data: DataOpt,
              judge: Annotated[Optional[str], typer.Option(help="Side A: a judge (e.g. vlm:<model>, ocr).")] = None,
              judge_version: JudgeVersionOpt = None,
              against: Annotated[Optional[str], typer.Option(help="Side B: another judge.")] = None,
              against_version: Annotated[Optional[str], typer.Option(help="... and its prompt version.")] = None,
              human: Annotated[Optional[Path], typer.Option(
                  help="Side B: human labels, CSV or JSONL per question: generation_id (or model, sample_id, seed), "
                       "question_id (or idx), answer yes/no.")] = None,
              retest: Annotated[Optional[str], typer.Option(
                  help="Test-retest of this judge across its seeded runs (bench judge --seed N).")] = None,
              fmt: Annotated[Fmt, typer.Option("--format", help="table, json (lines) or csv.")] = Fmt.table,
              storage_option: StorageOpt = None) -> None:
    """Judge reliability per category: raw agreement, Cohen's kappa and the veto change between two judges or a
    judge and human labels; or pairwise/Fleiss' kappa of one judge across sampling seeds (--retest)."""
    import pyarrow as pa

    from sciir_dist.bench.agreement import compare, retest as run_retest

    wh = warehouse(data, storage_option)
    try:
        if retest is not None:
            if judge or against or human:
                raise ValueError("--retest compares one judge with itself: leave out --judge, --against and --human")
            rows, meta = run_retest(wh, retest, judge_version)
            title = f"test-retest of {meta['judge']} ({meta['prompt_version']}): seeds {meta['seeds']}, {meta['pairs']} pair(s)"
        else:
            if judge is None:
                raise ValueError("name a judge (--judge), or a judge to retest (--retest)")
            rows, meta = compare(wh, judge, judge_version, against, against_version, human)
            title = f"A = {meta['a']}, B = {meta['b']} (veto_diff = B - A)"
    except ValueError as exc:
        _fail(exc)
    if fmt == Fmt.table:
        console.print(title)
        print_table(pa.Table.from_pylist([{k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}
                                          for r in rows]))
    else:
        print_table(pa.Table.from_pylist([{**{k: v for k, v in meta.items() if isinstance(v, str)}, **r} for r in rows]), fmt)


@bench.command()
def contamination(data: DataOpt,
                  threshold: Annotated[Optional[float], typer.Option(
                      help="Cosine (MiniLM) at or above which a panel text is a near-duplicate of a benchmark text "
                           "(default: the measured one, README 'Contamination').")] = None,
                  limit: Annotated[int, typer.Option(help="Closest (panel, sample) pairs to list.")] = 20,
                  fmt: Annotated[Fmt, typer.Option("--format", help="table or json.")] = Fmt.table,
                  progress: ProgressOpt = True, storage_option: StorageOpt = None) -> None:
    """Mark training panels whose Sci-RCoT, abstract prompt, sub-caption or caption near-duplicates a benchmark
    prompt (panel_contamination; the training split leaves them out); counts per mode x group, closest pairs."""
    import pyarrow as pa

    from sciir_dist.bench.contamination import DEFAULT_THRESHOLD, check, closest_pairs

    if fmt == Fmt.csv:
        raise typer.BadParameter("--format takes table or json")
    try:
        res = check(warehouse(data, storage_option), DEFAULT_THRESHOLD if threshold is None else threshold, progress)
    except ValueError as exc:
        _fail(exc)
    pairs = closest_pairs(res, limit)
    marked = sum(g["panels_marked"] for g in res.by_group)
    if fmt == Fmt.json:
        print(json.dumps({"run_id": res.run_id, "threshold": res.threshold, "versions_read": res.versions_read,
                          "panels_checked": res.marks.num_rows, "panels_marked": marked, "rows_written": res.rows_written,
                          "by_group": res.by_group, "closest": pairs}, ensure_ascii=False))
        return
    console.print(f"{marked} of {res.marks.num_rows} panels with text are near-duplicates of a benchmark text "
                  f"(cosine >= {res.threshold}); run {res.run_id}, versions read {res.versions_read}")
    print_table(pa.Table.from_pylist(res.by_group))
    if pairs:
        print_table(pa.Table.from_pylist(pairs))


# -- reference interop (MAIR-Lab-HUST/SciIR's own files) ----------------------
ModeOpt = Annotated[Optional[str], typer.Option(help="IF or IR (also cot/abstract).")]
GroupOpt = Annotated[Optional[str], typer.Option(help="All_Three or <Track>_<Track>.")]


@bench.command("import-images")
def import_images(root: Annotated[str, typer.Argument(help="Folder (or URI) of generated images.")],
                  data: DataOpt, model: Annotated[str, typer.Option(help="Name of the model that made them.")],
                  layout: Annotated[str, typer.Option(help="nested: <root>/<model>/<mode>/<group>/<file>; "
                                                           "flat: <root>/<image_filename> of one mode x group run.")] = "nested",
                  mode: ModeOpt = None, group: GroupOpt = None,
                  mapping: Annotated[Optional[str], typer.Option(help="Flat runs: CSV/JSON of folder,mode,group (folders relative to ROOT).")] = None,
                  seed: Annotated[int, typer.Option(help="The seed these images count as.")] = 0,
                  retry_errors: Annotated[bool, typer.Option(help="Re-read images recorded as missing.")] = False,
                  address: AddressOpt = None, progress: ProgressOpt = True, storage_option: StorageOpt = None) -> None:
    """Import images generated elsewhere into generations (the reference's flat IMAGE_FOLDER runs with --layout flat)."""
    from sciir_dist.bench.models_file import ModelSpec
    from sciir_dist.bench.sweep import run_sweep

    options = {"root": root, "layout": layout, **({"mapping": mapping} if mapping else {})}
    options.update({k: v for k, v in (("mode", mode), ("group", group)) if v})
    try:
        spec = ModelSpec(name=model, backend="folder", seeds=[seed], options=options)
        run_sweep(warehouse(data, storage_option), [spec], address=address, retry_errors=retry_errors,
                  progress=progress).render(console)
    except ValueError as exc:
        _fail(exc)


@bench.command("import-verdicts")
def import_verdicts_cmd(path: Annotated[Path, typer.Argument(help="The reference judge's evaluation_results.json.")],
                        data: DataOpt, model: Annotated[str, typer.Option(help="The generator whose images were judged.")],
                        group: Annotated[str, typer.Option(help="The run's group (All_Three or <Track>_<Track>).")],
                        mode: ModeOpt = None, seed: Annotated[int, typer.Option(help="The generations' seed.")] = 0,
                        judge_model: Annotated[str, typer.Option(help="The reference judge's model (judge vlm:<it>).")] = "gemini-3-pro-preview",
                        judge_version: Annotated[str, typer.Option(help="Prompt version the verdicts are stored under.")] = "reference-evaluation",
                        storage_option: StorageOpt = None) -> None:
    """Import the reference judge's verdicts (aligned by order within category; mismatches become rejects)."""
    from sciir_dist.bench.import_verdicts import VerdictImport, import_verdicts

    spec = VerdictImport(str(path), model=model, group=group, mode=mode, seed=seed, judge_model=judge_model,
                         version=judge_version)
    try:
        import_verdicts(warehouse(data, storage_option), spec).render(console)
    except ValueError as exc:
        _fail(exc)
    console.print(f"score them: sciir bench score --judge {spec.judge} --judge-version {spec.version}")


@bench.command("import-checklist")
def import_checklist(path: Annotated[Path, typer.Argument(help="The reference checklist.py output (JSON list).")],
                     data: DataOpt, mode: Annotated[str, typer.Option(help="IF or IR (also cot/abstract).")],
                     group: Annotated[str, typer.Option(help="All_Three or <Track>_<Track>.")],
                     storage_option: StorageOpt = None) -> None:
    """Use the reference's raw checklists as the questions of one mode x group ({error, raw} entries become rejects)."""
    from sciir_dist.bench.reference_checklist import import_checklists
    from sciir_dist.bench.samples import parse_mode

    try:
        counts = import_checklists(warehouse(data, storage_option), path, parse_mode(mode), group)
    except ValueError as exc:
        _fail(exc)
    console.print(f"imported {counts['questions']} questions for {counts['samples']} samples; "
                  f"{counts['rejected']} entries rejected (checklist_invalid)")


@bench.command("export")
def export_release_cmd(out: Annotated[str, typer.Argument(help="Output folder or URI.")], data: DataOpt,
                       where: Annotated[Optional[str], typer.Option(help="Only samples matching this SQL filter.")] = None,
                       storage_option: StorageOpt = None) -> None:
    """Write the benchmark in the published layout <mode>/<group>/{caption.json,checklist.json}."""
    from sciir_dist.bench.export_release import export_release

    wh = warehouse(data, storage_option)
    try:
        res = export_release(wh, out, wh.storage_options, where)
    except ValueError as exc:
        _fail(exc)
    console.print(json.dumps(res, indent=1))
