"""Imports started from the console: a job row per file, updated as the import goes (the progress bar
reads it, from any server process), and the report when it ends."""

from __future__ import annotations

import contextlib
import logging
import os
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from wafa.clock import Clock
from wafa.db import unit_of_work
from wafa.errors import NotFound
from wafa.events import imports
from wafa.events.models import ImportJob

log = logging.getLogger("wafa.imports")


def create(session: Session, *, tenant_id: int, file_name: str, award: bool, created_by: str, now: datetime) -> ImportJob:
    job = ImportJob(tenant_id=tenant_id, file_name=file_name[:255], award=award, status="queued", permille=0, rows=0, imported=0,
                    already=0, bad_rows=0, members_enrolled=0, awarded_points=0, bad=[], created_by=created_by, created_at=now)
    session.add(job)
    session.flush()
    return job


def get_or_raise(session: Session, *, tenant_id: int, job_id: int) -> ImportJob:
    job = session.get(ImportJob, job_id)
    if job is None or job.tenant_id != tenant_id:
        raise NotFound(f"import {job_id} not found")
    session.refresh(job)
    return job


def list_(session: Session, *, tenant_id: int, limit: int = 20) -> list[ImportJob]:
    return list(session.execute(
        select(ImportJob).where(ImportJob.tenant_id == tenant_id).order_by(ImportJob.id.desc()).limit(limit)
    ).scalars())


def _save(factory: sessionmaker[Session], job_id: int, **values: object) -> None:
    with unit_of_work(factory) as session:
        session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))


def _counts(report: imports.ImportReport) -> dict[str, object]:
    return {"rows": report.rows, "imported": report.imported, "already": report.already, "bad_rows": report.bad_rows,
            "members_enrolled": report.members_enrolled, "awarded_points": report.awarded_points}


def execute(
    factory: sessionmaker[Session], *, tenant_id: int, job_id: int, path: Path, kind: str, award: bool, clock: Clock,
) -> None:
    """Run one import job to its end (in a worker thread), keeping its row up to date; the file is
    deleted afterwards. A failure is recorded on the job, never raised into the server."""
    permille = 0

    def moved(value: int) -> None:
        nonlocal permille
        permille = value

    try:
        _save(factory, job_id, status="running")
        report = imports.run(
            factory, tenant_id=tenant_id, mapping={}, award=award, now=clock.now(), first_line=2 if kind == "csv" else 1,
            records=imports.read_records(path, kind, on_progress=moved),
            on_batch=lambda report: _save(factory, job_id, permille=min(permille, 999), **_counts(report)),
        )
        _save(factory, job_id, status="done", permille=1000, bad=report.stored(100), finished_at=clock.now(), **_counts(report))
    except Exception as exc:  # the file, not the server, is at fault: say so on the job
        log.exception("import %s failed", job_id)
        _save(factory, job_id, status="failed", error=f"{type(exc).__name__}: {exc}"[:500], finished_at=clock.now())
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
