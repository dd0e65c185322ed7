"""The RQ worker of qingdan's background jobs (app/jobs.py):

    rq worker -w app.jobs_worker.Worker --url $REDIS_URL qingdan

with the web processes' environment (DATABASE_URL, SECRET_KEY …). It builds the app once,
before forking the work horse of each job (RQ's default), so a horse starts with the app
ready instead of building it per job; every horse opens database connections of its own.
"""
from __future__ import annotations

from rq import Worker as RQWorker

from . import jobs


class Worker(RQWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        jobs.preload_app()
