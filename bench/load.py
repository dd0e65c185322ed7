"""Load test of the scale-out layout (issue 10): gunicorn with 1 and then 4 workers on
PostgreSQL, driven by locust (headless, fixed users and duration; bench/locustfile.py) on
loopback. Prints requests/s and p95 of a list page, the dashboard and a public page for each
worker count, side by side. Prints; asserts nothing.

    .venv/bin/python bench/load.py                         # 20 users, 20 s, 1 and 4 workers
    .venv/bin/python bench/load.py --users 40 --seconds 60 --workers 1,2,4 --experts 1000000

The database is its own (created on --pg, dropped at the end): the demo data of seed/
(through the import engine, as `flask qingdan seed`) plus --experts bulk-loaded experts, so
the list page is a large list. The deploy steps are the README's (`db upgrade`, `qingdan
init`). locust runs on the same machine as the server: on a small machine it takes a share
of the CPU that the workers would otherwise have.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import data  # noqa: E402
import processes  # noqa: E402

SECRET = "qingdan-load-secret-of-at-least-32-bytes"
USER, PASSWORD = "loadclerk", "Load-pass-1"
ENDPOINTS = ("list", "dashboard", "public")


def prepare(env: dict, url: str, experts: int) -> None:
    """Deploy, demo data, the load's clerk and the extra experts."""
    processes.deploy(env)
    processes.flask(env, "qingdan", "seed", timeout=600)
    os.environ.update(QINGDAN_ENV="production")
    from app import create_app, db
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET})
    with app.app_context():
        sm = app.appbuilder.sm
        sm.add_user(USER, USER, "压测", "load@example.cn", sm.find_role("科员"),
                    password=PASSWORD)
        db.session.commit()
        if experts:
            import sqlalchemy as sa

            from app.lists.experts import Expert
            db.session.execute(sa.text("DELETE FROM qd_expert"))  # the seed's: ids anew
            db.session.commit()
            data.bulk_insert(db.engine, Expert.__table__, experts)
        db.session.remove()
        db.engine.dispose()


def run(workers: int, env: dict, args, tmp: Path) -> dict[str, dict]:
    port = processes.free_port()
    log = tmp / f"gunicorn-{workers}.log"
    server = processes.start_gunicorn(env, port, workers, log)
    try:
        host = f"http://127.0.0.1:{port}"
        processes.wait_ready(server, f"{host}/login/", log, timeout=120)
        locust_env = dict(os.environ, QINGDAN_LOAD_USER=USER, QINGDAN_LOAD_PASSWORD=PASSWORD)
        # The machine's load before the run: on a shared machine it says how much of the
        # CPU was the server's to have.
        load = os.getloadavg()[0]
        print(f"  {workers} worker(s): {args.users} users, {args.seconds} s "
              f"(load average {load:.1f}) …", flush=True)
        stats = processes.run_locust(host, args.users, args.seconds, tmp / f"w{workers}",
                                     locust_env, tmp / f"locust-{workers}.log")
        stats["_load"] = load
        return stats
    finally:
        processes.stop(server)


def table(results: dict[int, dict[str, dict]]) -> str:
    counts = sorted(results)
    head = ["endpoint"] + [f"{n} worker{'s' if n > 1 else ''}: req/s, p95"
                           for n in counts]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in (*ENDPOINTS, "Aggregated"):
        cells = [name if name != "Aggregated" else "all (incl. login)"]
        for n in counts:
            row = results[n].get(name)
            if row is None:
                cells.append("—")
                continue
            cells.append(f"{float(row['Requests/s']):.1f} /s, {row['95%']} ms")
        lines.append("| " + " | ".join(cells) + " |")
    failed = {n: sum(int(r["Failure Count"]) for k, r in results[n].items()
                     if k == "Aggregated") for n in counts}
    lines.append("")
    lines.append("load average before the run: " + ", ".join(
        f"{n} worker(s) {results[n]['_load']:.1f}" for n in counts))
    lines.append("failed requests: " + ", ".join(f"{n} worker(s) {failed[n]}" for n in counts))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=os.environ.get(
        "QINGDAN_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432"))
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", default="1,4", help="gunicorn worker counts, in turn")
    parser.add_argument("--experts", type=int, default=100_000,
                        help="experts in the listed list (bulk-loaded)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="qingdan-load-"))
    url, drop = data.postgresql_database(args.pg, "qd_load")
    try:
        env = processes.server_env(url, SECRET, tmp / "instance")
        print(f"preparing {url.rsplit('/', 1)[1]}: seed/ and {args.experts:,} experts …",
              flush=True)
        prepare(env, url, args.experts)
        results = {n: run(n, env, args, tmp)
                   for n in (int(w) for w in args.workers.split(","))}
        print()
        print(f"PostgreSQL, {args.experts:,} experts listed; locust {args.users} users, "
              f"{args.seconds} s each, no think time; {os.cpu_count()} CPUs")
        print(table(results))
    finally:
        drop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
