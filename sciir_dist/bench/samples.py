"""Naming shared by every bench command: modes, groups and sample ids.

A sample id is ``<mode dir>/<group>/<image_filename>`` (e.g.
``instruction_following/All_Three/001.png``), which is also where a folder
of images generated elsewhere keeps that sample's image.
"""

from __future__ import annotations

from schemas.tables import TRACKS

MODE_DIRS = {"IF": "instruction_following", "IR": "intrinsic_reasoning"}
MODE_OF_DIR = {v: k for k, v in MODE_DIRS.items()}
#: the published release's prompt mode names (checklist.json used_prompt_mode)
PROMPT_MODE = {"IF": "cot", "IR": "abstract"}
GROUPS = ("All_Three", "EntityStructure_ScientificLaw", "EntityStructure_ScientificProcess",
          "ScientificLaw_ScientificProcess")


_MODE_NAMES = {"if": "IF", "ir": "IR", **{v: k for k, v in PROMPT_MODE.items()}, **{v: k for k, v in MODE_DIRS.items()}}


def parse_mode(text: str) -> str:
    """IF or IR from any name the reference (cot/abstract, the release's
    folder names) or this project uses for a mode."""
    mode = _MODE_NAMES.get(str(text).strip().lower())
    if mode is None:
        raise ValueError(f"unknown mode {text!r}: use IF/IR (or cot/abstract, instruction_following/intrinsic_reasoning)")
    return mode


def sample_id(mode: str, group: str, image_filename: str) -> str:
    return f"{MODE_DIRS[mode]}/{group}/{image_filename}"


def question_id(sample: str, idx: int) -> str:
    return f"{sample}#{idx}"


def group_of(tracks: list[str]) -> str | None:
    """The benchmark group of a set of active tracks; None for one track."""
    active = sorted(set(tracks) & set(TRACKS))
    if len(active) == 3:
        return "All_Three"
    if len(active) == 2:
        return "_".join(active)
    return None


def tracks_of(group: str) -> list[str]:
    return list(TRACKS) if group == "All_Three" else group.split("_")
