"""Real-browser tests: Debian's Chromium driven by Playwright, against the app served on
127.0.0.1 by a real HTTP server, on SQLite with the demo data of seed/ as a first start
leaves it (2016年第1期安全评价报告 published, the other review batches drafts).

Every page a test opens is watched: a request to any host but 127.0.0.1 is blocked and
fails the test, and so does an error on the page's console or an uncaught script error.
`axe_check(page)` runs axe-core (shipped inside axe-playwright-python, no download) and
fails on serious or critical accessibility violations.

Chromium is Debian's (`apt-get install chromium fonts-noto-cjk`; the Makefile's test target
installs it): Playwright's own browser download does not work on the bureau's network.
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import PASSWORD, prepare_database

CHROMIUM = os.environ.get("QINGDAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
SCREENSHOTS = Path(os.environ.get("QINGDAN_SCREENSHOTS",
                                  Path(__file__).resolve().parent / "screenshots"))
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The back office on a real HTTP server (threads, as gunicorn's gthread would)."""
    from werkzeug.serving import make_server

    from app import create_app, db
    from app.seeding import load_seed, publish_demo_batch

    folder = tmp_path_factory.mktemp("browser")
    application = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'browser.db'}",
        "SECRET_KEY": "qingdan-browser-test-secret-of-32-bytes",
        "RATELIMIT_ENABLED": False,
        "QINGDAN_SEED_ON_FIRST_START": False,
    })
    prepare_database(application)
    with application.app_context():
        for _line in load_seed():
            pass
        # As a first start does it: the demo batch published by the clerk and the 科长.
        sm = application.appbuilder.sm
        list(publish_demo_batch(sm.find_user("clerk").id, sm.find_user("head").id))
        db.session.remove()
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs it "
                    "(apt-get install chromium fonts-noto-cjk)", pytrace=False)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Watch:
    """What a page did that it should not: requests that left the machine, console errors."""

    def __init__(self):
        self.outside: list[str] = []
        self.errors: list[str] = []

    def route(self, route):
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def console(self, message):
        if message.type == "error":
            self.errors.append(f"console: {message.text}")


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, locale="zh-CN",
                                  viewport={"width": 1440, "height": 900},
                                  accept_downloads=True)
    context.set_default_timeout(15_000)
    watch = Watch()
    context.route("**/*", watch.route)
    pg = context.new_page()
    pg.on("console", watch.console)
    pg.on("pageerror", lambda exc: watch.errors.append(f"pageerror: {exc}"))
    pg.watch = watch
    yield pg
    context.close()
    assert watch.outside == [], f"requests left the machine: {watch.outside}"
    assert watch.errors == [], f"errors on the page: {watch.errors}"


def log_in(page, username: str) -> None:
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/login" not in page.url, f"login as {username} failed: {page.url}"


def log_out(page) -> None:
    page.goto("/logout/")
    page.wait_for_load_state("networkidle")


def axe_check(page, *, impacts=("serious", "critical")) -> None:
    """axe-core over the current page: no violation of the given impacts."""
    from axe_playwright_python.sync_playwright import Axe
    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in impacts]
    assert not bad, "accessibility: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(" ".join(n["target"]) for n in v["nodes"][:5]) for v in bad)


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
