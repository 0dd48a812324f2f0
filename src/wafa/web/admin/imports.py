"""Import a purchase file from the console, with a progress bar that follows the import as it runs."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from wafa.api.deps import Context, IdPath
from wafa.events import import_jobs
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import checked
from wafa.web.pages import check_csrf, redirect, render

router = APIRouter(prefix=PATH, include_in_schema=False)
# Larger files go through `wafa import purchases`, which streams from disk without an upload.
MAX_UPLOAD = 200 * 1024 * 1024


@router.get("/imports")
def import_page(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        jobs = import_jobs.list_(session, tenant_id=admin.tenant_id)
    return render(request, "admin/imports.html", lang=admin.lang, me=admin, section="imports", jobs=jobs, problem=None)


@router.post("/imports")
async def start_import(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")), admin.csrf)
    upload = form.get("file")
    problem = None
    if not admin.can_change:
        problem = "read-only"
    elif upload is None or not hasattr(upload, "read") or not getattr(upload, "filename", ""):
        problem = "no-file"
    if problem is None:
        name = Path(upload.filename).name  # type: ignore[union-attr]
        kind = "parquet" if name.lower().endswith((".parquet", ".pq")) else "csv"
        handle, temp = tempfile.mkstemp(prefix="wafa-import-", suffix="." + kind)
        size = 0
        with os.fdopen(handle, "wb") as out:
            while chunk := await upload.read(1024 * 1024):  # type: ignore[union-attr]
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
        return render(request, "admin/imports.html", lang=admin.lang, me=admin, section="imports", jobs=jobs, problem=problem, status=422)
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
    return render(request, template, lang=admin.lang, me=admin, section="imports", job=job)
