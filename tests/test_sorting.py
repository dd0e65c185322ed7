"""Chinese text sorts by pinyin, the same on SQLite, PostgreSQL and MariaDB (a stored key of
digits, app/sheets/sorting.py), kept by every path that writes a record."""
from __future__ import annotations

import io

import openpyxl
from conftest import api_token, login, xlsx
from factories import add, make_expert, text_of

from app import db
from app.lists.experts import Expert
from app.sheets.declare import sheets
from app.sheets.sorting import pinyin_key, sort_fields

SURNAMES = ["宋", "何", "吴", "刘", "唐"]  # by code point: 何 刘 吴 唐 宋
BY_PINYIN = ["何", "刘", "宋", "唐", "吴"]


def ordered(texts, **kw):
    return sorted(texts, key=lambda t: pinyin_key(t, **kw))


def test_keys_order_by_pinyin_then_tone():
    assert ordered([f"{s}某" for s in SURNAMES]) == [f"{s}某" for s in BY_PINYIN]
    assert ordered(["横", "何", "河"]) == ["何", "河", "横"]  # he² he² before heng²
    assert ordered(["妈", "麻", "马", "骂"]) == ["妈", "麻", "马", "骂"]  # tones 1–4


def test_keys_keep_the_order_of_codes():
    assert ordered(["A10-01", "A1-10", "A1-01", "B1"]) == ["A1-01", "A1-10", "A10-01", "B1"]
    assert ordered(["2016版", "2015版"]) == ["2015版", "2016版"]


def test_a_person_name_reads_its_surname_as_a_surname():
    assert pinyin_key("曾某", person_name=True) < pinyin_key("张某", person_name=True)
    assert pinyin_key("单某", person_name=True) > pinyin_key("邓某", person_name=True)  # shàn


def test_keys_are_digits_only_and_bounded():
    for text in ("上海示例（示例）ABC公司", "APJ-（国）-512", "沪安监〔2015〕12号", "ä ß 😀"):
        key = pinyin_key(text)
        assert key.isdigit() and len(key) <= 255
    assert pinyin_key(None) is None and pinyin_key("") is None


def test_every_listed_text_has_a_key():
    experts = sheets["experts"]
    assert {"name", "employer", "title", "expert_no"} <= set(sort_fields(experts))
    assert "id_number" not in sort_fields(experts)  # personal data: no key, no sorting
    assert "speciality" not in sort_fields(experts)  # a dictionary sorts in its own order


# ---------------------------------------------------------------------------- in the database
def names_on_page(client, url) -> list[str]:
    page = text_of(client.get(url))
    found = [(page.index(f"{s}某"), f"{s}某") for s in SURNAMES if f"{s}某" in page]
    return [name[0] for _i, name in sorted(found)]


def test_the_list_sorts_names_by_pinyin_on_every_database(app, as_clerk):
    add(app, *[make_expert(i, name=f"{s}某") for i, s in enumerate(SURNAMES, 1)])
    assert names_on_page(as_clerk, "/experts/list/") == BY_PINYIN  # the declared order
    url = "/experts/list/?_oc_ExpertsView=name&_od_ExpertsView="
    assert names_on_page(as_clerk, url + "asc") == BY_PINYIN
    assert names_on_page(as_clerk, url + "desc") == BY_PINYIN[::-1]


def test_the_api_and_the_export_sort_the_same_way(app, client):
    add(app, *[make_expert(i, name=f"{s}某") for i, s in enumerate(SURNAMES, 1)])
    headers = api_token(client, "head")
    resp = client.get("/api/v1/experts/?q=(order_column:name,order_direction:asc)",
                      headers=headers)
    assert [r["name"][0] for r in resp.get_json()["result"]] == BY_PINYIN
    login(client, "head")
    ws = openpyxl.load_workbook(io.BytesIO(client.get("/lists/experts/export").data)).worksheets[0]
    assert [r[2][0] for r in ws.iter_rows(min_row=2, values_only=True)] == BY_PINYIN


def test_keys_follow_every_write_import_edit_and_undo(app, client):
    from app.sheets.engine import undo_batch
    login(client, "clerk")
    header = ["姓名", "身份证号码", "工作单位", "职称级别", "专业类别", "专家类型", "聘任日期",
              "聘期届满", "状态"]
    row = ["宋某", make_expert(1).id_number, "上海化工研究院", "正高级", "危险化学品", "普通专家",
           "2020-01-01", "2025-12-31", "在聘"]
    resp = client.post("/lists/experts/import", data={"file": (io.BytesIO(xlsx([header, row])),
                                                                "e.xlsx"), "valid_only": "1"},
                       content_type="multipart/form-data")
    draft = resp.headers["Location"].rstrip("/").split("/")[-1]
    assert client.post(f"/lists/imports/{draft}/confirm").status_code == 302
    with app.app_context():
        expert = db.session.query(Expert).one()
        assert expert.name_sort == pinyin_key("宋某", person_name=True)
        pk = expert.id
    # An edit through the form (the record commands, the ORM's flush).
    form = dict(name="何某", id_number=row[1], employer="复旦大学", title_level="正高级",
                speciality="危险化学品", expert_type="普通专家", appointed_on="2020-01-01",
                term_ends_on="2025-12-31", status="在聘", _version="1")
    assert client.post(f"/experts/edit/{pk}", data=form).status_code == 302
    with app.app_context():
        expert = db.session.get(Expert, pk)
        assert expert.name_sort == pinyin_key("何某", person_name=True)
        assert expert.employer_sort == pinyin_key("复旦大学")
    # A second import changes it, its undo brings the key back with the name.
    row[0] = "吴某"
    resp = client.post("/lists/experts/import", data={"file": (io.BytesIO(xlsx([header, row])),
                                                                "e2.xlsx")},
                       content_type="multipart/form-data")
    draft = resp.headers["Location"].rstrip("/").split("/")[-1]
    assert client.post(f"/lists/imports/{draft}/confirm").status_code == 302
    with app.app_context():
        assert db.session.get(Expert, pk).name_sort == pinyin_key("吴某", person_name=True)
        from app.models import ImportBatch
        batch = db.session.query(ImportBatch).order_by(ImportBatch.id.desc()).first()
        undo_batch(batch.id, session=db.session)
        expert = db.session.get(Expert, pk)
        assert (expert.name, expert.name_sort) == ("何某", pinyin_key("何某", person_name=True))


def test_the_trail_keeps_no_sort_keys(app, as_clerk):
    from app.models import Change
    add(app, make_expert(1, name="何某"))
    pk = add(app, make_expert(2, name="宋某"))
    as_clerk.post(f"/experts/delete/{pk}")
    with app.app_context():
        snapshots = [c.before or c.after for c in db.session.query(Change)]
        assert snapshots and not any(k.endswith("_sort") for s in snapshots for k in s)


def test_a_list_orders_its_dictionary_as_declared_and_follows_a_changed_dictionary(app, as_clerk):
    """专业类别 leads the experts' order: by its place in EXPERT_SPECIALITIES, a stored key
    (so a page is read from the order index); `flask qingdan init` re-reads the dictionary."""
    from app.sheets.sorting import refresh_choice_keys
    add(app, make_expert(1, name="何某", speciality="消防"),
        make_expert(2, name="吴某", speciality="危险化学品"))
    assert names_on_page(as_clerk, "/experts/list/") == ["吴", "何"]  # 危险化学品 comes first
    bound = app.extensions["qingdan.settings"]
    saved = bound["EXPERT_SPECIALITIES"]
    bound["EXPERT_SPECIALITIES"] = ["消防", *[s for s in saved if s != "消防"]]
    try:
        with app.app_context():
            assert refresh_choice_keys(db.session) == 2  # both moved
            assert refresh_choice_keys(db.session) == 0  # and nothing is left to do
            db.session.commit()
        assert names_on_page(as_clerk, "/experts/list/") == ["何", "吴"]
        result = app.test_cli_runner().invoke(args=["qingdan", "init"])
        assert result.exit_code == 0, result.output
    finally:
        bound["EXPERT_SPECIALITIES"] = saved
        with app.app_context():
            refresh_choice_keys(db.session)
            db.session.commit()
    with app.app_context():
        keys = dict(db.session.query(Expert.name, Expert.speciality_sort))
    assert keys == {"何某": f"{saved.index('消防'):03d}", "吴某": "000"}
