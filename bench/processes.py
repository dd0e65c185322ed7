"""Real qingdan processes on loopback: the deploy commands, gunicorn, an RQ worker and locust.

Used by the load benchmark (bench/load.py) and by the tests that run several processes
(tests/test_multi_process.py). Every wait is bounded; `stop()` ends a
process with its children (gunicorn's workers, RQ's work horses, which run in sessions of
their own).
"""
from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(database_url: str, secret: str, instance: Path, **extra) -> dict:
    """The environment every process of one deployment shares (README: Scale-out layout)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QINGDAN_", "FAB_"))}
    env.update(DATABASE_URL=database_url, SECRET_KEY=secret, QINGDAN_ENV="production",
               QINGDAN_INSTANCE=str(instance), PYTHONPATH=str(ROOT))
    env.update({k: str(v) for k, v in extra.items()})
    return env


def flask(env: dict, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """`flask --app app ARGS` as an operator runs it; raises with its output on failure."""
    result = subprocess.run([str(BIN / "flask"), "--app", "app", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} exited {result.returncode}:\n"
                           f"{result.stdout[-2000:]}{result.stderr[-3000:]}")
    return result


def deploy(env: dict, timeout: float = 180) -> None:
    """The deploy steps of the README: the schema, then the roles and permissions."""
    flask(env, "db", "upgrade", timeout=timeout)
    flask(env, "qingdan", "init", timeout=timeout)


def start_gunicorn(env: dict, port: int, workers: int, log: Path, *,
                   threads: int = 1) -> subprocess.Popen:
    """`gunicorn -w N 'app:create_app()'` on 127.0.0.1:port; its log (access log too) in log."""
    out = open(log, "ab")
    try:
        return subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", str(workers), "--threads", str(threads),
             "-b", f"127.0.0.1:{port}", "--timeout", "120", "--graceful-timeout", "5",
             "--access-logfile", "-", "app:create_app()"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        out.close()  # the child has its own descriptor


def start_worker(env: dict, redis_url: str, queue: str, log: Path) -> subprocess.Popen:
    """The README's worker command: `rq worker -w app.jobs_worker.Worker --url … queue`."""
    out = open(log, "ab")
    try:
        return subprocess.Popen(
            [str(BIN / "rq"), "worker", "-w", "app.jobs_worker.Worker", "--url", redis_url,
             queue], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    finally:
        out.close()


def tail(log: Path, chars: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return "(no log)"


def wait_ready(proc: subprocess.Popen, url: str, log: Path, timeout: float = 90) -> None:
    """Until url answers (any HTTP status below 500); raises if the process dies first."""
    import urllib.error
    import urllib.request
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited {proc.returncode} before {url} "
                               f"answered:\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout:.0f} s:\n{tail(log)}")
        time.sleep(0.2)


def wait_log(proc: subprocess.Popen, log: Path, text: str, timeout: float = 90) -> None:
    """Until the process's log says text (a worker listening on its queue)."""
    deadline = time.monotonic() + timeout
    while text not in tail(log, 100_000):
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited {proc.returncode}:\n{tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no «{text}» within {timeout:.0f} s:\n{tail(log)}")
        time.sleep(0.2)


def stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM the process's group, then SIGKILL whatever of it and its children is left."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    for p in children:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=timeout)


# ---------------------------------------------------------------------------- locust
LOCUSTFILE = ROOT / "bench" / "locustfile.py"


def run_locust(host: str, users: int, seconds: int, csv_prefix: Path, env: dict,
               log: Path) -> dict[str, dict]:
    """locust, headless: `users` users (all started in the first second) for `seconds`
    seconds against host; the statistics of each request name (and "Aggregated")."""
    cmd = [str(BIN / "locust"), "-f", str(LOCUSTFILE), "--headless", "--host", host,
           "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--stop-timeout", "5",
           "--csv", str(csv_prefix), "--only-summary", "--loglevel", "WARNING"]
    with open(log, "ab") as out:
        result = subprocess.run(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                timeout=seconds + 90)
    stats_file = Path(f"{csv_prefix}_stats.csv")
    if not stats_file.exists():
        raise RuntimeError(f"locust exited {result.returncode} without statistics:\n"
                           f"{tail(log)}")
    with open(stats_file, newline="") as fh:
        stats = {row["Name"]: row for row in csv.DictReader(fh)}
    failures_file = Path(f"{csv_prefix}_failures.csv")
    with open(failures_file, newline="") as fh:
        stats["_failures"] = list(csv.DictReader(fh))
    return stats
