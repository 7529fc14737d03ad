"""Ingest job for spark-submit; takes the same arguments as `sciir ingest`.

    spark-submit --master spark://host:7077 --py-files sciir_dist.zip \
        jobs/ingest.py --input s3://bucket/pmc/ --data s3://bucket/warehouse

Under spark-submit the session (master, configs) comes from the submit.
"""

import os
import sys

# runnable from a checkout without installing the package
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sciir_dist.cli import app  # noqa: E402

if __name__ == "__main__":
    app(["ingest", *sys.argv[1:]], prog_name="jobs/ingest.py")
