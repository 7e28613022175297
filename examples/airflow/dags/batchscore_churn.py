"""Score each day's customers with batchscore, scheduled by Apache Airflow 3.

Airflow owns the schedule, the retries and ``max_active_runs``; batchscore owns the
scoring and the output. The task runs the batchscore CLI for the run's logical date
(``{{ ds }}``), and the CLI writes that date's output, ``scored/dt=<ds>``, as a committed
output of its own. A rerun of the date replaces that output and never appends to it, and
a rerun whose input file and model are unchanged is skipped without scoring anything.

Settings come from the environment of the process that runs the task:

- ``BATCHSCORE_CLI``: command that runs batchscore. Default ``batchscore``, the npm
  package's executable; ``node /path/to/batchscore/dist/cli/main.js`` works too.
- ``BATCHSCORE_CHURN_DIR``: folder that contains ``customers_<YYYY-MM-DD>.csv`` files. The
  outputs go to its ``scored/`` folder.
- ``BATCHSCORE_CHURN_MODEL``: the ONNX model. Default ``<BATCHSCORE_CHURN_DIR>/churn.onnx``.

Trigger a run with the conf ``{"reprocess": "all"}`` to score a date again even when its
input and model are unchanged.
"""

from __future__ import annotations

import os
import shlex
from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Param

CLI = os.environ.get("BATCHSCORE_CLI", "batchscore")
DATA_DIR = os.environ.get("BATCHSCORE_CHURN_DIR", "/srv/churn")
MODEL = os.environ.get("BATCHSCORE_CHURN_MODEL", os.path.join(DATA_DIR, "churn.onnx"))

# "{ds}" in single braces is a batchscore path template, which the CLI fills from --date.
# "{{ ds }}" in double braces is Airflow's Jinja, filled with the run's logical date.
SCORE_COMMAND = " ".join(
    [
        CLI,
        "backfill",
        "--date {{ ds }}",
        "--reprocess {{ params.reprocess }}",
        "--model " + shlex.quote(MODEL),
        "--input " + shlex.quote(os.path.join(DATA_DIR, "customers_{ds}.csv")),
        "--output " + shlex.quote(os.path.join(DATA_DIR, "scored", "dt={ds}")),
    ]
)

with DAG(
    dag_id="batchscore_churn_daily",
    description="Score the day's customers with the churn model",
    # Airflow 3 reads a cron string as a CronTriggerTimetable: a run's logical date is the
    # time it is triggered, so {{ ds }} is the day of the run (its UTC date, which for
    # 02:30 in Berlin is the same day). Use {{ macros.ds_add(ds, -1) }} to score the
    # previous day instead.
    schedule="30 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Berlin"),
    catchup=False,
    # One run at a time. batchscore's output lock would also turn a second writer of the
    # same date into a failed attempt (exit code 75), which Airflow retries.
    max_active_runs=1,
    params={
        "reprocess": Param(
            "failed",
            enum=["none", "failed", "all"],
            description=(
                "Which dates attempted before run again: 'failed' (default) reruns a "
                "date whose last attempt failed, so Airflow's retries work; 'all' "
                "scores the date again even when it is up to date."
            ),
        ),
    },
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(hours=1),
    },
    tags=["batchscore"],
) as dag:
    BashOperator(task_id="score_customers", bash_command=SCORE_COMMAND)
