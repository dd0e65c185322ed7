"""Adding a list exactly as the README says ("## Adding a list"), in a scratch copy of the
repository: the example appended untouched to the module the README names, the command it
gives run as given, and nothing else. Then the new list's screens, menu entry, template,
import, export, API and command line work, and the tests that take their lists from the
registry pass with it.

The copy runs in processes of its own: its app has one model more than the one under test
here. `python tests/test_new_list.py SLUG`, run inside the copy, is the part that drives the
new list through a fresh app on SQLite (`exercise` below).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

if __name__ == "__main__":  # run inside the scratch copy: its own app, not ours
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytest
from conftest import ROOT, SHARED

# Left behind by running the app or tools, never part of a change (see .gitignore).
NOT_SOURCE = {".git", ".venv", "instance", "__pycache__", ".pytest_cache", ".ruff_cache"}
PROCESS_TIMEOUT = 600


# ---------------------------------------------------------------------------- the README
def readme_recipe(root: Path = ROOT) -> tuple[str, str, list[str]]:
    """(module the example goes in, the example's code, the shell commands), from README.md."""
    text = (root / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Adding a list\n", 1)[1].split("\n## ", 1)[0]
    module = re.search(r"Appended to\s+`(app/lists/\w+\.py)`", section)
    code = re.search(r"```python\n(.*?)```", section, re.S)
    shell = re.search(r"```sh\n(.*?)```", section, re.S)
    assert module and code and shell, "README's 'Adding a list' lost its module, code or command"
    commands = [line.split("#")[0].strip() for line in shell[1].splitlines()]
    return module[1], code[1], [c for c in commands if c]


def _snapshot(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every source file under root."""
    out = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if path.is_file() and not NOT_SOURCE & set(rel.parts) and path.suffix != ".pyc":
            out[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _environment() -> dict[str, str]:
    """This environment without what points at another database or instance."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "QINGDAN_INSTANCE", "QINGDAN_SETTINGS", "SECRET_KEY",
                        "QINGDAN_ENV", "FLASK_APP", "PYTHONPATH")}
    env.update(QINGDAN_SHARED=str(SHARED), QINGDAN_TEST_DATABASES="sqlite")
    return env


def _run(args, cwd: Path, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=_environment(), capture_output=True, text=True,
                          timeout=PROCESS_TIMEOUT, **kw)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A copy of the repository with the README's example added as the README says:
    (copy, the files before the change, the example's slug)."""
    copy = tmp_path_factory.mktemp("new-list") / "qingdan"
    shutil.copytree(ROOT, copy, ignore=lambda _dir, names: [
        n for n in names if n in NOT_SOURCE or n.endswith(".pyc")])
    venv = Path(sys.prefix)
    assert (venv / "bin" / "flask").exists(), f"no flask in {venv}: run the tests from .venv"
    (copy / ".venv").symlink_to(venv, target_is_directory=True)
    before = _snapshot(copy)

    module, code, commands = readme_recipe(copy)
    with open(copy / module, "a", encoding="utf-8") as fh:
        fh.write("\n\n" + code)
    for command in commands:
        _run(["bash", "-c", command], copy)
    slug = re.search(r'slug="(\w+)"', code)[1]
    return copy, before, slug


# ---------------------------------------------------------------------------- the tests
def test_readme_recipe_is_one_module_and_one_generated_migration(scratch):
    copy, before, slug = scratch
    module, code, _commands = readme_recipe(copy)
    after = _snapshot(copy)
    changed = sorted(p for p in after if p in before and after[p] != before[p])
    added = sorted(set(after) - set(before))
    assert changed == [module] and sorted(set(before) - set(after)) == []
    assert len(added) == 1 and re.fullmatch(r"migrations/versions/\w+\.py", added[0]), added
    migration = (copy / added[0]).read_text(encoding="utf-8")
    table = re.search(r'__tablename__ = "(\w+)"', code)[1]
    assert f"op.create_table('{table}'" in migration
    assert f"name='uq_{table}_key'" in migration      # the key, unique from the declaration
    heads = re.findall(r"^revision = '(\w+)'", "\n".join(
        p.read_text(encoding="utf-8") for p in (ROOT / "migrations" / "versions").glob("*.py")),
        re.M)
    down = re.search(r"^down_revision = '(\w+)'", migration, re.M)[1]
    assert down in heads, "the migration does not follow the existing ones"


def test_the_new_list_works_on_every_path(scratch):
    copy, _before, slug = scratch
    done = _run([str(copy / ".venv" / "bin" / "python"), "tests/test_new_list.py", slug], copy)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {
        "schema_matches_migrations": True, "menu": True, "list_page": True, "template": True,
        "import": {"create": 2, "written": 2}, "form": {"created": 3, "duplicate_refused": True},
        "show": True, "export": {"rows": 3, "reimport": "unchanged"},
        "api": {"listed": 3, "created": 201, "duplicate": 422, "count": 4},
        "cli": {"names": True, "export": 4, "import_unchanged": 4},
    }


def test_the_registry_driven_tests_pass_with_the_new_list(scratch):
    copy, _before, _slug = scratch
    _run([str(copy / ".venv" / "bin" / "python"), "-m", "pytest", "-q", "-p",
          "no:cacheprovider", "tests/test_lists.py", "tests/test_roundtrip.py",
          "tests/test_seed.py"], copy)


# ---------------------------------------------------------------------------- in the copy
def _sample(col, n: int):
    """A valid value of column `col` for the n-th made-up record (the README's types)."""
    from app.sheets import types as t
    if col.type.choices:
        return col.type.choices[n % len(col.type.choices)]
    if isinstance(col.type, t.Integer):
        return n
    if type(col.type) in (t.Text, t.LongText):
        return f"{col.header}{n}"[:col.type.max_length]
    raise NotImplementedError(f"no sample value for {col.header} ({col.type.word})")


def exercise(slug: str) -> dict:
    """Drive a list through a fresh app on SQLite: screens, template, import, export, API, CLI."""
    import io
    import tempfile

    import openpyxl
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from conftest import PASSWORD, api_token, login, xlsx
    from flask_appbuilder import Model
    from flask_migrate import upgrade

    from app import create_app, db
    from app.sheets.declare import sheets
    from app.sheets.engine import build_plan
    from app.sheets.writer import SEQ_HEADER, header_text
    from app.web.security import sync_roles

    report: dict = {}
    folder = tempfile.mkdtemp()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/new-list.db",
                      "SECRET_KEY": "qingdan-test-secret-of-at-least-32-bytes", "TESTING": True,
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "QINGDAN_SEED_ON_FIRST_START": False})
    sheet = sheets[slug]
    assert not sheet.relations, "this drive makes records of a list without parents"
    records = [{c.field: _sample(c, n) for c in sheet.columns} for n in range(1, 5)]

    def count() -> int:
        with app.app_context():
            return db.session.query(sheet.model).count()

    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                    Model.metadata)
        report["schema_matches_migrations"] = diff == []
        sync_roles()
        sm = app.appbuilder.sm
        sm.add_user("clerk", "clerk", "测试", "clerk@example.cn", sm.find_role("科员"),
                    password=PASSWORD)
        db.session.commit()

    client = login(app.test_client(), "clerk")
    report["menu"] = f'href="/{slug}/list/"' in client.get("/").get_data(as_text=True)
    page = client.get(f"/{slug}/list/")
    report["list_page"] = page.status_code == 200 and sheet.title in page.get_data(as_text=True)

    # the template, filled in and imported: preview, then confirm
    resp = client.get(f"/lists/{slug}/template")
    headers = [c.value for c in openpyxl.load_workbook(io.BytesIO(resp.data)).worksheets[0][1]]
    report["template"] = headers == [SEQ_HEADER, *map(header_text, sheet.columns)]
    rows = [[n, *(r[c.field] for c in sheet.columns)] for n, r in enumerate(records[:2], 1)]
    resp = client.post(f"/lists/{slug}/import", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(xlsx([headers, *rows])), "新清单.xlsx")})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    preview = client.get(resp.headers["Location"]).get_data(as_text=True)
    created = int(re.search(r'data-count="create">(\d+)<', preview)[1])
    client.post(resp.headers["Location"] + "/confirm")
    report["import"] = {"create": created, "written": count()}

    # the screens: add, the same key again, show
    form = {k: str(v) for k, v in records[2].items()}
    added = client.post(f"/{slug}/add", data=form).status_code == 302 and count() == 3
    again = client.post(f"/{slug}/add", data=form)
    report["form"] = {"created": count() if added else None,
                      "duplicate_refused": again.status_code == 200 and count() == 3}
    with app.app_context():
        pk = db.session.query(sheet.model.id).order_by(sheet.model.id.desc()).first()[0]
    shown = client.get(f"/{slug}/show/{pk}").get_data(as_text=True)
    report["show"] = all(str(v) in shown for v in records[2].values())

    # the export, which imports again without a change
    exported = client.get(f"/lists/{slug}/export").data
    with app.app_context():
        plan = build_plan(sheet, exported, "导出.xlsx", session=db.session)
    data_rows = openpyxl.load_workbook(io.BytesIO(exported)).worksheets[0].max_row - 1
    report["export"] = {"rows": data_rows, "reimport": "unchanged"
                        if plan.counts == {"create": 0, "update": 0, "unchanged": 3,
                                           "delete": 0, "error": 0} else plan.counts}

    # the API
    token = api_token(client, "clerk")
    listed = client.get(f"/api/v1/{slug}/", headers=token).get_json()["count"]
    created = client.post(f"/api/v1/{slug}/", json=records[3], headers=token).status_code
    duplicate = client.post(f"/api/v1/{slug}/", json=records[3], headers=token).status_code
    report["api"] = {"listed": listed, "created": created, "duplicate": duplicate,
                     "count": count()}

    # the command line
    runner = app.test_cli_runner()
    names = runner.invoke(args=["lists", "names"]).stdout.splitlines()
    out = f"{folder}/导出.xlsx"
    runner.invoke(args=["lists", "export", slug, out])
    result = runner.invoke(args=["lists", "import", slug, out, "--dry-run", "--json"])
    report["cli"] = {"names": f"{slug}\t{sheet.title}" in names,
                     "export": openpyxl.load_workbook(out).worksheets[0].max_row - 1,
                     "import_unchanged": json.loads(result.stdout).get("unchanged")}
    return report


if __name__ == "__main__":
    print(json.dumps(exercise(sys.argv[1]), ensure_ascii=False))
