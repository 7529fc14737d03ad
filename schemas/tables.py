"""Arrow schemas of the warehouse tables (SPEC §2), declared once.

Key columns are a contract with external checks; everything else may grow.
Image columns use Lance blob encoding so scans that do not ask for pixels
never read them.
"""

from __future__ import annotations

import pyarrow as pa

BLOB = {"lance-encoding:blob": "true"}


def _blob(name: str) -> pa.Field:
    return pa.field(name, pa.large_binary(), metadata=BLOB)


ARTICLES = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("doi", pa.string()),
        pa.field("title", pa.string()),
        pa.field("abstract", pa.string()),  # the main abstract
        # the others: eLife digest, PLoS author summary, teasers, translations
        pa.field("abstracts", pa.list_(pa.struct([("type", pa.string()), ("text", pa.string())]))),
        pa.field("body", pa.string()),
        pa.field("subjects", pa.list_(pa.string())),
        pa.field("discipline", pa.string()),
        pa.field("license", pa.string()),
        pa.field("license_url", pa.string()),
        pa.field("source_uri", pa.string()),
        pa.field("source_format", pa.string()),
        # Fingerprint of the source package (size + modification stamp or ETag):
        # a re-run skips sources whose fingerprint is already committed.
        pa.field("source_fingerprint", pa.string()),
    ]
)

FIGURES = pa.schema(
    [
        pa.field("figure_id", pa.string(), nullable=False),
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("figure_xml_id", pa.string()),
        pa.field("label", pa.string()),
        pa.field("title", pa.string()),
        pa.field("caption", pa.string()),
        pa.field("image_path", pa.string()),
        pa.field("image_format", pa.string()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("sha256", pa.string()),
        pa.field("num_panels", pa.int32()),
        _blob("image"),
    ]
)

PANELS = pa.schema(
    [
        pa.field("panel_id", pa.string(), nullable=False),
        pa.field("figure_id", pa.string(), nullable=False),
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("panel_index", pa.int32(), nullable=False),
        pa.field("panel_letter", pa.string()),
        pa.field("bbox", pa.list_(pa.int32())),
        pa.field("sub_caption", pa.string()),
        pa.field("split_method", pa.string()),
        pa.field("source_width", pa.int32()),
        pa.field("source_height", pa.int32()),
        pa.field("fill_color", pa.list_(pa.uint8())),
        pa.field("sha256", pa.string()),
        _blob("image"),
    ]
)

REJECTS = pa.schema(
    [
        # Deterministic from (stage, item, reason) for ingest and (stage, item) for
        # curation stages (one open failure per panel and stage): re-runs replace.
        pa.field("reject_id", pa.string(), nullable=False),
        pa.field("item", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string()),
        pa.field("article_id", pa.string()),
        pa.field("source_uri", pa.string()),
    ]
)

RUNS = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("job", pa.string(), nullable=False),
        pa.field("engine", pa.string()),
        pa.field("params", pa.string()),  # JSON, secrets redacted
        pa.field("status", pa.string()),
        pa.field("error", pa.string()),
        pa.field("started_at", pa.timestamp("us", tz="UTC")),
        pa.field("ended_at", pa.timestamp("us", tz="UTC")),
        pa.field("rows_in", pa.int64()),
        pa.field("rows_out", pa.int64()),
        pa.field("rows_rejected", pa.int64()),
        pa.field("rejected_by_reason", pa.string()),  # JSON {reason: count}
        pa.field("versions_read", pa.string()),  # JSON {table: version}
        pa.field("versions_written", pa.string()),  # JSON {table: version}
    ]
)

#: table name -> (schema, key column). Upserts replace rows by key.
TABLES: dict[str, tuple[pa.Schema, str]] = {
    "articles": (ARTICLES, "article_id"),
    "figures": (FIGURES, "figure_id"),
    "panels": (PANELS, "panel_id"),
    "rejects": (REJECTS, "reject_id"),
    "runs": (RUNS, "run_id"),
}

INGEST_TABLES = ("articles", "figures", "panels", "rejects")


def schema_of(table: str) -> pa.Schema:
    return TABLES[table][0]


def key_of(table: str) -> str:
    return TABLES[table][1]


def blob_columns(schema: pa.Schema) -> list[str]:
    return [f.name for f in schema if (f.metadata or {}).get(b"lance-encoding:blob") == b"true"]


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Cast a batch (possibly with large_string / missing columns, as Spark's
    Arrow path produces) to the declared schema, column order included."""
    cols = []
    for field in schema:
        if field.name in table.column_names:
            cols.append(table.column(field.name).cast(field.type))
        else:
            cols.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(cols, schema=schema)

SOURCES = pa.schema(
    [
        # One row per ingested source unit (package / JSON file / image folder).
        # Committed last in a run: its presence means every other table already
        # holds that source's rows, so re-runs skip it.
        pa.field("source_uri", pa.string(), nullable=False),
        pa.field("source_fingerprint", pa.string()),
        pa.field("source_format", pa.string()),
        pa.field("article_ids", pa.list_(pa.string())),
        pa.field("status", pa.string()),  # ingested | rejected
    ]
)

TABLES["sources"] = (SOURCES, "source_uri")

# -- curation stage outputs: one table per stage, keyed by panel_id ---------
PANEL_HASHES = pa.schema(
    [
        pa.field("panel_id", pa.string(), nullable=False),
        pa.field("sha256", pa.string()),
        pa.field("phash", pa.uint64()),  # 64-bit DCT perceptual hash of the panel's interior
        pa.field("dhash", pa.uint64()),  # 64-bit gradient hash of the interior
        pa.field("phash_ink", pa.uint64()),  # the same two hashes of the panel's ink box
        pa.field("dhash_ink", pa.uint64()),
        pa.field("hash_region", pa.string()),  # what the hashes cover (stages/hash.py REGION); others are redone
    ]
)

TABLES["panel_hashes"] = (PANEL_HASHES, "panel_id")

PANEL_FILTER = pa.schema(
    [
        pa.field("panel_id", pa.string(), nullable=False),
        pa.field("filter_decision", pa.string()),  # KEEP | REJECT
        pa.field("filter_category", pa.string()),
        pa.field("filter_reason", pa.string()),
        pa.field("filter_confidence", pa.float32()),
        pa.field("filter_review", pa.bool_()),  # low confidence: in the review queue
        pa.field("filter_backend", pa.string()),  # openai | offline
        pa.field("filter_model", pa.string()),
        pa.field("filter_prompt_version", pa.string()),
        pa.field("ocr_lines", pa.list_(pa.string())),  # offline backend: PP-OCR text lines, reused downstream
    ]
)

TABLES["panel_filter"] = (PANEL_FILTER, "panel_id")

PANEL_DEDUP = pa.schema(
    [
        pa.field("panel_id", pa.string(), nullable=False),
        pa.field("dup_cluster", pa.string()),  # the representative's panel_id
        pa.field("dup_of", pa.string()),  # null for representatives
        pa.field("dup_kind", pa.string()),  # exact | near
        pa.field("dup_cluster_size", pa.int32()),
        # near-duplicate of a benchmark sample's source panel (training must exclude it)
        pa.field("bench_leak", pa.bool_()),
        pa.field("bench_leak_sample", pa.string()),
    ]
)

TABLES["panel_dedup"] = (PANEL_DEDUP, "panel_id")

TEXT_EMBEDDING_DIM = 384  # all-MiniLM-L6-v2
OFFLINE_IMAGE_EMBEDDING_DIM = 1280  # EfficientNet-Lite0 pooled features


def panel_embeddings_schema(image_dim: int = OFFLINE_IMAGE_EMBEDDING_DIM) -> pa.Schema:
    """Vectors are fixed-size lists (what Lance vector indices need), so the
    image dimension is part of the table's schema: it is fixed by the first
    image model that fills the table."""
    return pa.schema(
        [
            pa.field("panel_id", pa.string(), nullable=False),
            pa.field("image_embedding", pa.list_(pa.float32(), image_dim)),  # L2-normalised
            pa.field("image_model", pa.string()),  # e.g. efficientnet-lite0, open_clip:ViT-B-32:laion2b_s34b_b79k
            pa.field("text_embedding", pa.list_(pa.float32(), TEXT_EMBEDDING_DIM)),  # caption, L2-normalised
            pa.field("text_model", pa.string()),
            pa.field("text_source", pa.string()),  # sub_caption | caption | none
            pa.field("embed_backend", pa.string()),  # open_clip | offline
        ]
    )


TABLES["panel_embeddings"] = (panel_embeddings_schema(), "panel_id")

TRACKS = ("EntityStructure", "ScientificProcess", "ScientificLaw")

PANEL_CLASSIFY = pa.schema(
    [
        pa.field("panel_id", pa.string(), nullable=False),
        # relevance 1-10 per semiotic track (relevance, not quality)
        pa.field("score_entity_structure", pa.int8()),
        pa.field("score_scientific_process", pa.int8()),
        pa.field("score_scientific_law", pa.int8()),
        pa.field("labels", pa.list_(pa.string())),  # tracks scored >= tau
        pa.field("low_reasoning", pa.bool_()),  # no label: excluded from training
        pa.field("classify_rationale", pa.string()),
        pa.field("classify_backend", pa.string()),
        pa.field("classify_model", pa.string()),
        pa.field("classify_prompt_version", pa.string()),
    ]
)

TABLES["panel_classify"] = (PANEL_CLASSIFY, "panel_id")

PANEL_ANNOTATIONS = pa.schema(
    [
        pa.field("panel_id", pa.string(), nullable=False),
        pa.field("reasoning", pa.string()),  # JSON {Track: {terms, visualization} | null}
        pa.field("sci_rcot", pa.string()),
        pa.field("rendered_text", pa.list_(pa.string())),
        pa.field("abstract_prompt", pa.string()),
        pa.field("retained_text", pa.list_(pa.string())),
        pa.field("term_count", pa.int32()),
        pa.field("sci_rcot_tokens", pa.int32()),  # WordPiece tokens (bundled MiniLM tokenizer)
        pa.field("abstract_prompt_tokens", pa.int32()),
        pa.field("annotate_backend", pa.string()),
        pa.field("annotate_vision_model", pa.string()),
        pa.field("annotate_text_model", pa.string()),
        pa.field("annotate_prompt_version", pa.string()),
    ]
)

TABLES["panel_annotations"] = (PANEL_ANNOTATIONS, "panel_id")

ARTICLE_DISCIPLINE = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("discipline", pa.string()),  # one of the five main categories
        pa.field("discipline_source", pa.string()),  # table | llm | offline
        pa.field("discipline_evidence", pa.string()),  # the subject terms that decided it
        pa.field("discipline_backend", pa.string()),
        pa.field("discipline_model", pa.string()),
        pa.field("discipline_prompt_version", pa.string()),
    ]
)

TABLES["article_discipline"] = (ARTICLE_DISCIPLINE, "article_id")

BENCH_SAMPLES = pa.schema(
    [
        # <mode dir>/<group>/<image_filename>, e.g. instruction_following/All_Three/001.png:
        # also where a folder of generated images keeps this sample's image
        pa.field("sample_id", pa.string(), nullable=False),
        pa.field("mode", pa.string()),  # IF (prompt = Sci-RCoT) | IR (prompt = abstract prompt)
        pa.field("group", pa.string()),  # All_Three | <Track>_<Track>
        pa.field("prompt", pa.string()),
        pa.field("sci_rcot", pa.string()),
        pa.field("abstract_prompt", pa.string()),
        pa.field("reasoning", pa.string()),  # JSON {Track: {terms, visualization} | null}
        pa.field("labels", pa.list_(pa.string())),
        pa.field("retained_text", pa.list_(pa.string())),
        pa.field("rendered_text", pa.list_(pa.string())),
        pa.field("term_count", pa.int32()),
        pa.field("image_filename", pa.string()),
        pa.field("source", pa.string()),  # the source panel_id (built) | published:<release path>
        pa.field("origin", pa.string()),  # published | built
    ]
)

TABLES["bench_samples"] = (BENCH_SAMPLES, "sample_id")

CATEGORIES = ("Text", "EntityStructure", "ScientificProcess", "ScientificLaw")

BENCH_QUESTIONS = pa.schema(
    [
        pa.field("question_id", pa.string(), nullable=False),  # <sample_id>#<idx>
        pa.field("sample_id", pa.string(), nullable=False),
        pa.field("idx", pa.int32(), nullable=False),
        pa.field("category", pa.string()),  # one of CATEGORIES
        pa.field("question", pa.string()),
        pa.field("negative", pa.bool_()),  # a hallucination check (expected answer: yes = absent)
        pa.field("checklist_source", pa.string()),  # published | llm | offline
        pa.field("checklist_model", pa.string()),
        pa.field("checklist_prompt_version", pa.string()),
    ]
)

TABLES["bench_questions"] = (BENCH_QUESTIONS, "question_id")

GENERATIONS = pa.schema(
    [
        pa.field("generation_id", pa.string(), nullable=False),  # <model>|<sample_id>|<seed>
        pa.field("model", pa.string(), nullable=False),
        pa.field("sample_id", pa.string(), nullable=False),
        pa.field("seed", pa.int64()),
        pa.field("backend", pa.string()),  # openai | folder | text-render | diffusers
        pa.field("error", pa.string()),  # null on success; the image is then present
        pa.field("sha256", pa.string()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        _blob("image"),
    ]
)

TABLES["generations"] = (GENERATIONS, "generation_id")

VERDICTS = pa.schema(
    [
        pa.field("verdict_id", pa.string(), nullable=False),  # hash of (generation, question, judge, version)
        pa.field("generation_id", pa.string(), nullable=False),
        pa.field("question_id", pa.string(), nullable=False),
        pa.field("judge", pa.string(), nullable=False),  # e.g. vlm:<model> | ocr
        pa.field("prompt_version", pa.string()),
        pa.field("answer", pa.string()),  # yes | no | abstain
        pa.field("reason", pa.string()),  # one sentence of visual evidence
    ]
)

TABLES["verdicts"] = (VERDICTS, "verdict_id")

# -- leakage guard: training texts against benchmark prompts (`sciir bench contamination`)
BENCH_TEXT_EMBEDDINGS = pa.schema(
    [
        pa.field("embedding_id", pa.string(), nullable=False),  # <sample_id>#<bench_field>
        pa.field("sample_id", pa.string(), nullable=False),
        pa.field("bench_field", pa.string()),  # prompt | sci_rcot | abstract_prompt (a text once per sample)
        pa.field("text_sha256", pa.string()),  # a changed text is embedded again
        pa.field("text_model", pa.string()),
        pa.field("embedding", pa.list_(pa.float32(), TEXT_EMBEDDING_DIM)),  # L2-normalised
    ]
)

TABLES["bench_text_embeddings"] = (BENCH_TEXT_EMBEDDINGS, "embedding_id")

PANEL_CONTAMINATION = pa.schema(
    [
        # one row per panel with any text: its closest benchmark text, marked or not
        pa.field("panel_id", pa.string(), nullable=False),
        pa.field("contaminated", pa.bool_()),  # contamination_cosine >= contamination_threshold: not for training
        pa.field("contamination_sample_id", pa.string()),  # the closest benchmark sample
        pa.field("contamination_field", pa.string()),  # the panel's text: sci_rcot | abstract_prompt | sub_caption | caption
        pa.field("contamination_bench_field", pa.string()),  # the sample's text: prompt | sci_rcot | abstract_prompt
        pa.field("contamination_cosine", pa.float32()),
        pa.field("contamination_threshold", pa.float32()),
        pa.field("contamination_model", pa.string()),
    ]
)

TABLES["panel_contamination"] = (PANEL_CONTAMINATION, "panel_id")

#: per-panel stage output tables shown with `sciir query panels`
#: per-panel stage outputs that `sciir query panels` joins onto panels (plug-in stages add theirs)
STAGE_TABLES = ["panel_hashes", "panel_embeddings", "panel_dedup", "panel_filter", "panel_classify", "panel_annotations",
                "panel_contamination"]


def register_table(name: str, schema: pa.Schema, key: str, panel_stage: bool = False) -> None:
    """Declare a table outside this file: a plug-in stage keeps its output
    schema next to its code. Declaring a built-in table differently is refused."""
    known = TABLES.get(name)
    if known is not None and (not known[0].equals(schema) or known[1] != key):
        raise ValueError(f"table {name} is declared already with another schema or key")
    TABLES[name] = (schema, key)
    if panel_stage and key == "panel_id" and name not in STAGE_TABLES:
        STAGE_TABLES.append(name)
