"""Curate job for `ray job submit`; takes the same arguments as `sciir curate`.

    ray job submit --address http://head:8265 --working-dir . -- \
        python jobs/curate.py --data s3://bucket/warehouse --stages hash

Inside a Ray job, RAY_ADDRESS points at the cluster, so the stages run there.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sciir_dist.cli import app  # noqa: E402

if __name__ == "__main__":
    app(["curate", *sys.argv[1:]], prog_name="jobs/curate.py")
