"""The one exception type ingest code raises for bad input.

Every reader and image step turns a problem with an input into a
:class:`Reject` with a short machine-readable ``reason`` (it becomes a
``rejects`` row) and a human ``detail``; the pipeline catches it per item, so
one bad file never stops a package, and one bad package never stops a job.
"""

from __future__ import annotations


class Reject(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
