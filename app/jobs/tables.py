"""Piccolo table of the jobs app (DDL lives in migrations/jobs)."""

from piccolo.columns import JSONB, Integer, Text, Timestamptz
from piccolo.table import Table

from app.core.columns import Finished


class JobRun(Finished, Table, tablename="job_runs"):
    """One long job's lease: who runs it, until when, how often it was taken over."""

    key = Text(primary_key=True)
    function = Text()
    args = JSONB()
    status = Text(default="queued")  # queued | running | done | failed
    owner = Text(null=True, default=None)
    lease_until = Timestamptz(null=True, default=None)
    attempts = Integer(default=0)
    takeovers = Integer(default=0)
    queued_at = Timestamptz()
    started_at = Timestamptz(null=True, default=None)
    heartbeat_at = Timestamptz(null=True, default=None)
