"""Quiet by default: engine noise goes to a log file under the warehouse.

Ray's C++ core worker, the Spark JVM (log4j, its child processes) and Lance
write warnings straight to file descriptor 2, below anything Python's
``logging`` can filter. So a normal run points fd 2 (which every engine
process started afterwards inherits) and Python's warnings and log records at
``<warehouse>/_logs/<utc time>-<pid>.log``, while ``sys.stderr`` keeps the
terminal: our progress bars, error messages and tracebacks still show.
``--verbose`` leaves everything on the terminal. Remote warehouses (s3://…)
log to ``~/.cache/sciir-dist/logs`` instead: a log file is appended to line
by line, which object stores cannot do.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

_state: dict = {"verbose": False, "path": None}
_FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def set_verbose(verbose: bool) -> None:
    _state["verbose"] = verbose


def logging_to_file() -> bool:
    return _state["path"] is not None


def log_dir(root: str) -> Path:
    if root.startswith("file://"):
        root = root[len("file://"):]
    if "://" in root:
        return Path.home() / ".cache" / "sciir-dist" / "logs"
    return Path(root) / "_logs"


def to_file(root: str) -> Path | None:
    """Send this process's engine noise to a log file of the warehouse at
    ``root``; returns its path (None with --verbose). Called once per command,
    before any engine starts; later calls keep the first file."""
    if _state["verbose"] or not _stderr_is_fd2():
        return None
    if _state["path"] is not None:
        return _state["path"]
    directory = log_dir(root)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}.log"
    log = open(path, "a", buffering=1, encoding="utf-8")
    log.write(f"# {' '.join(sys.argv)}\n")
    sys.stderr.flush()
    terminal = os.fdopen(os.dup(2), "w", buffering=1, encoding=sys.stderr.encoding or "utf-8", errors="replace")
    os.dup2(log.fileno(), 2)
    sys.stderr = terminal
    handler = logging.StreamHandler(log)
    handler.setFormatter(_FORMAT)
    logging.getLogger().addHandler(handler)
    # records of loggers left without handlers (Ray's during ray.init) go here, not to the terminal
    logging.lastResort = logging.StreamHandler(log)
    logging.lastResort.setLevel(logging.WARNING)
    logging.captureWarnings(True)
    _state["path"] = path
    _state["log"] = log
    return path


def _stderr_is_fd2() -> bool:
    """Only a command that owns the process's stderr moves it: one run inside
    a host that captured ``sys.stderr`` (a test's CliRunner, a notebook) leaves
    the host's streams and file descriptors alone."""
    try:
        return sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        return False


def adopt_library_handlers() -> None:
    """Move library log handlers that print to the terminal to the log file.
    Engines call it after they start: Ray (and others) attach their own
    StreamHandlers at import, some writing to whatever ``sys.stderr`` is when
    they emit (Ray's), so each is replaced by a file handler with its level
    and format rather than re-pointed."""
    log = _state.get("log")
    if log is None:
        return
    for logger in [logging.getLogger()] + [lg for lg in logging.root.manager.loggerDict.values()
                                           if isinstance(lg, logging.Logger)]:
        for h in list(logger.handlers):
            if isinstance(h, logging.FileHandler) or not isinstance(h, logging.StreamHandler) or h.stream is log:
                continue
            if h.stream is sys.stderr or h.stream is sys.__stderr__ or type(h) is not logging.StreamHandler:
                replacement = logging.StreamHandler(log)
                replacement.setLevel(h.level)
                replacement.setFormatter(h.formatter or _FORMAT)
                logger.removeHandler(h)
                logger.addHandler(replacement)
