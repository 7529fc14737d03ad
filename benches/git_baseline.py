"""Load a module as it was at an earlier commit, so a bench can time the code
a change replaced against the new code in the same run, on the same data."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def module_at(commit: str, path: str, name: str) -> ModuleType | None:
    """``path`` (relative to the repository) at ``commit``, imported as
    ``name``; None without git history (e.g. an exported tarball)."""
    try:
        src = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:{path}"],
                             check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    file = Path(tempfile.mkdtemp()) / f"{name}.py"
    file.write_text(src)
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module
