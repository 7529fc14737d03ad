"""The one exception type ingest code raises for bad input.

Every reader and image step turns a problem with an input into a
:class:`Reject` with a short machine-readable ``reason`` (it becomes a
``rejects`` row) and a human ``detail``; the pipeline catches it per item, so
one bad file never stops a package, and one bad package never stops a job.
"""

from __future__ import annotations

import re

#: where a message names an object by its memory address (PIL names the BytesIO it could not read)
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


class Reject(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def describe(exc: BaseException) -> str:
    """A reject's detail for an exception: ``Type: message``, without memory
    addresses, so that the same bad input gives the same detail in every run."""
    return f"{type(exc).__name__}: {_ADDRESS.sub('', str(exc))}"
