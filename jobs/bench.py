"""Benchmark jobs for `ray job submit` / `sciir submit bench`; takes the same
arguments as `sciir bench` (sweep, judge, checklist, ...).

    ray job submit --address http://head:8265 --working-dir . -- \
        python jobs/bench.py sweep --data s3://bucket/wh --models models.toml
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sciir_dist.cli import app  # noqa: E402

if __name__ == "__main__":
    app(["bench", *sys.argv[1:]], prog_name="jobs/bench.py")
