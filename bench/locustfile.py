"""Load of the back office as its clerks and the public make it (bench/load.py runs it;
tests/test_multi_process.py runs it briefly):

  clerk   logs in through the login form once (its CSRF token from the page), then opens a
          list page, the dashboard (首页) and, now and then, a public page
  public  an anonymous visitor of the public pages

Requests are named by what they are ("list", "dashboard", "public"), not by URL, so the
statistics have one line each. Who logs in: QINGDAN_LOAD_USER / QINGDAN_LOAD_PASSWORD.
No think time: the users keep the server saturated, which is what requests/s measures.
"""
from __future__ import annotations

import os
import re

from locust import FastHttpUser, constant, task

USER = os.environ.get("QINGDAN_LOAD_USER", "clerk")
PASSWORD = os.environ.get("QINGDAN_LOAD_PASSWORD", "Clerk-2015")
LIST_URL = os.environ.get("QINGDAN_LOAD_LIST", "/experts/list/")
PUBLIC_URL = os.environ.get("QINGDAN_LOAD_PUBLIC", "/public/agencies/")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Clerk(FastHttpUser):
    weight = 3
    wait_time = constant(0)

    def on_start(self):
        page = self.client.get("/login/", name="login")
        token = CSRF.search(page.text or "")
        with self.client.post("/login/", name="login", allow_redirects=False,
                              data={"username": USER, "password": PASSWORD,
                                    "csrf_token": token[1] if token else ""},
                              catch_response=True) as resp:
            where = resp.headers.get("Location", "")
            if resp.status_code != 302 or "/login" in where:
                resp.failure(f"login refused: {resp.status_code} → {where}")

    def _page(self, url, name):
        # A page that sends us back to the login form is a failure, not a fast success.
        with self.client.get(url, name=name, allow_redirects=False,
                             catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"{resp.status_code} {resp.headers.get('Location', '')}")

    @task(3)
    def list_page(self):
        self._page(LIST_URL, "list")

    @task(3)
    def dashboard(self):
        self._page("/", "dashboard")

    @task(1)
    def public_page(self):
        self._page(PUBLIC_URL, "public")


class Visitor(FastHttpUser):
    weight = 1
    wait_time = constant(0)

    @task
    def public_page(self):
        with self.client.get(PUBLIC_URL, name="public", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(str(resp.status_code))
