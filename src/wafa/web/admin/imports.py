"""Import a purchase file from the console, with a progress bar that follows the import as it runs."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from wafa.api.deps import Context, IdPath
from wafa.events import import_jobs
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import checked
from wafa.web.i18n import Lang
from wafa.web.messages import N_
from wafa.web.pages import check_csrf, redirect, render

router = APIRouter(prefix=PATH, include_in_schema=False)
# Larger files go through `wafa import purchases`, which streams from disk without an upload.
MAX_UPLOAD = 200 * 1024 * 1024
# A job's status as a person reads it.
STATUSES = {"queued": N_("Waiting to start"), "running": N_("Running"), "done": N_("Done"), "failed": N_("Failed")}
# Every reason wafa.events.imports gives a bad row (its BadRow messages), for the catalog; a unit test
# keeps this list and that module's messages the same.
REASONS = (
    N_("%(column)s is empty"),
    N_("%(column)s is longer than %(n)s characters"),
    N_("date %(value)s is in the future"),
    N_("currency %(value)s is not one this program takes"),
    N_("amount %(value)s is not a decimal amount in %(currency)s (not negative, at most %(digits)s decimal places)"),
    N_("margin %(value)s is not a decimal amount in %(currency)s (at most %(digits)s decimal places)"),
    N_("quantity %(value)s is not a whole number"),
    N_("quantity %(value)s is out of range"),
    N_("date %(value)s is outside the years 1970 to 9000"),
    N_("date %(value)s is not a date in the form %(form)s, or is out of range"),
    N_("%(column)s: not a JSON list of lines with %(fields)s (%(error)s)"),
    N_("unreadable row: %(error)s"),
    N_("the purchase was refused: %(error)s"),
)


def reason(lang: Lang, row: list) -> Markup:
    """A bad row's reason in the reader's language; what it quotes from the file stays as written (left to right)."""
    if len(row) >= 4 and isinstance(row[3], dict):
        quoted = {name: Markup('<bdi dir="ltr">%s</bdi>') % value for name, value in row[3].items()}
        return escape(lang.gettext(row[2])) % quoted
    # A job recorded before reasons were kept with their message: its English sentence.
    return Markup('<bdi dir="ltr">%s</bdi>') % row[1]


def _page(request: Request, admin: Admin, jobs: list, problem: str | None, status: int = 200) -> Response:
    return render(request, "admin/imports.html", lang=admin.lang, me=admin, section="imports", jobs=jobs, problem=problem,
                  statuses=STATUSES, status=status)


@router.get("/imports")
def import_page(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        jobs = import_jobs.list_(session, tenant_id=admin.tenant_id)
    return _page(request, admin, jobs, None)


@router.post("/imports")
async def start_import(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")), admin.csrf)
    upload = form.get("file")
    problem = None
    if not admin.can_change:
        problem = "read-only"
    elif not isinstance(upload, UploadFile) or not upload.filename:  # a form field's value is an UploadFile or a str
        problem = "no-file"
    else:
        name = Path(upload.filename).name
        kind = "parquet" if name.lower().endswith((".parquet", ".pq")) else "csv"
        handle, temp = tempfile.mkstemp(prefix="wafa-import-", suffix="." + kind)
        size = 0
        with os.fdopen(handle, "wb") as out:
            while chunk := await upload.read(1024 * 1024):
                size += len(chunk)
                if size > MAX_UPLOAD:
                    problem = "too-big"
                    break
                out.write(chunk)
        if problem:
            os.unlink(temp)
    if problem:
        ctx = Context(request)
        with ctx.transaction() as session:
            jobs = import_jobs.list_(session, tenant_id=admin.tenant_id)
        return _page(request, admin, jobs, problem, 422)
    award = checked(form, "award")

    def begin() -> int:
        ctx = Context(request)
        with ctx.transaction() as session:
            job = import_jobs.create(session, tenant_id=admin.tenant_id, file_name=name, award=award, created_by=admin.email, now=ctx.now())
            admin.record(session, request, action="purchases.import_started", target=f"import:{job.id}",
                         details={"file": name, "bytes": size, "award": award}, now=ctx.now())
            return job.id

    job_id = await run_in_threadpool(begin)
    # A thread of this process runs it; the job row tells every process (and the progress bar) how it goes.
    threading.Thread(
        target=import_jobs.execute, name=f"wafa-import-{job_id}", daemon=True,
        kwargs={"factory": request.app.state.session_factory, "tenant_id": admin.tenant_id, "job_id": job_id, "path": Path(temp),
                "kind": kind, "award": award, "clock": request.app.state.clock},
    ).start()
    return redirect(f"{PATH}/imports/{job_id}")


@router.get("/imports/{job_id}")
def job_page(request: Request, job_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        job = import_jobs.get_or_raise(session, tenant_id=admin.tenant_id, job_id=job_id)
    template = "admin/import_progress.html" if request.headers.get("hx-request") == "true" else "admin/import_job.html"
    bad = [(row[0], reason(admin.lang, row)) for row in job.bad or []]
    return render(request, template, lang=admin.lang, me=admin, section="imports", job=job, bad=bad, statuses=STATUSES)
