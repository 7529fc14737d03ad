#!/usr/bin/env bash
# Ingest on a Spark standalone cluster (or YARN / Kubernetes: change --master).
#
#   $SPARK_HOME/sbin/start-master.sh                    # on the master
#   $SPARK_HOME/sbin/start-worker.sh spark://master:7077  # on each worker
#   SPARK_MASTER=spark://master:7077 cluster/spark/ingest-submit.sh \
#       --input s3://bucket/pmc-oa/ --data s3://bucket/warehouse
#
# Every node needs this project installed (pip install -e .) in the Python
# that PYSPARK_PYTHON names; object-store credentials come from the
# environment (AWS_*), never from this script.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/../.." && pwd)"
: "${SPARK_MASTER:?set SPARK_MASTER, e.g. spark://master:7077}"
export PYSPARK_PYTHON="${PYSPARK_PYTHON:-python3}"
exec "${SPARK_SUBMIT:-spark-submit}" \
  --master "$SPARK_MASTER" \
  --conf spark.executorEnv.PYSPARK_PYTHON="$PYSPARK_PYTHON" \
  --conf spark.sql.execution.arrow.pyspark.enabled=true \
  --conf spark.task.maxFailures=4 \
  "$HERE/jobs/ingest.py" "$@"
