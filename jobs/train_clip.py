"""CLIP training job for `ray job submit` / `sciir submit train-clip`; takes
the same arguments as `sciir train clip`.

    ray job submit --address http://head:8265 --working-dir . -- \
        python jobs/train_clip.py --data s3://bucket/wh --run-name clip1 --storage-path s3://bucket/runs
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sciir_dist.cli import app  # noqa: E402

if __name__ == "__main__":
    app(["train", "clip", *sys.argv[1:]], prog_name="jobs/train_clip.py")
