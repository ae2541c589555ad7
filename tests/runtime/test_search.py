"""Full-text search (runtime/store/search.py) from the outside, on a finance handbook app: Chinese
words and phrases through the REST ``q=``, ranking, the total beside a page, fields hidden from a
role never matching, documents kept in step on update and delete, the index after an import and
``jimu reindex``. Runs on SQLite (FTS5) and PostgreSQL (tsvector + GIN)."""
import sqlalchemy as sa

from tests.conftest import api_token, install_package, make_user, sign_in


def L(zh, en):
    return {"zh-CN": zh, "en": en}


HANDBOOK = {"format": "jimu.app", "version": 2, "app": {"key": "handbook", "version": "1.0.0", "label": "制度"},
            "roles": [{"key": "staff", "version": 1, "label": L("员工", "Staff"), "permissions": {"制度": ["read"]},
                       "fields": {"制度": {"内部意见": "hidden"}}}],
            "forms": [
    {"key": "制度", "version": 1, "label": L("制度", "Policy"), "title_field": "标题",
     "fields": [{"key": "标题", "label": "标题", "widget": "text", "required": True},
                {"key": "正文", "label": "正文", "widget": "textarea"},
                {"key": "类别", "label": "类别", "widget": "select",
                 "config": {"options": [{"value": "fin", "label": L("财务", "Finance")},
                                        {"value": "hr", "label": L("人事", "People")}]}},
                {"key": "内部意见", "label": "内部意见", "widget": "text"},
                {"key": "页数", "label": "页数", "widget": "number"}]}]}


def headers_for(jimu, username, **kw):
    return {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, username, **kw))}"}


def add(client, headers, **values):
    resp = client.post("/api/v1/forms/制度/records", json=values, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def find(client, headers, q, **params):
    resp = client.get("/api/v1/forms/制度/records", query_string={"q": q, **params}, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    return [r["标题"] for r in body["records"]], body["total"]


def test_a_chinese_question_finds_the_articles_by_their_words_best_first(client, jimu, admin_headers):
    install_package(jimu, HANDBOOK)
    add(client, admin_headers, 标题="报销流程说明", 正文="差旅报销需要附上行程单", 类别="fin")
    add(client, admin_headers, 标题="发票丢失怎么办", 正文="联系开票方补寄发票复印件", 类别="fin")
    add(client, admin_headers, 标题="增值税发票作废后重开", 正文="先作废原发票，再申请重开", 类别="fin")
    add(client, admin_headers, 标题="年假规定", 正文="入职满一年享有五天年假", 类别="hr")
    # the old substring search found nothing: no record contains "如何重开发票"
    titles, total = find(client, admin_headers, "如何重开发票")
    assert total == 2 and set(titles) == {"增值税发票作废后重开", "发票丢失怎么办"}
    assert titles[0] == "增值税发票作废后重开"          # it also says 重开: ranked first
    # words separated by spaces must all be there
    assert find(client, admin_headers, "发票 重开") == (["增值税发票作废后重开"], 1)
    assert find(client, admin_headers, "年假")[1] == 1 and find(client, admin_headers, "请假")[1] == 0
    # a quoted phrase must appear as written
    assert find(client, admin_headers, '"申请重开"') == (["增值税发票作废后重开"], 1)
    assert find(client, admin_headers, '"重开申请"')[1] == 0
    # a choice is found by its label in either language, Latin words case-insensitively
    assert find(client, admin_headers, "人事") == (["年假规定"], 1)
    assert find(client, admin_headers, "FINANCE")[1] == 3


def test_the_total_comes_with_the_page_and_the_best_match_leads(client, jimu, admin_headers):
    install_package(jimu, HANDBOOK)
    for i in range(23):
        add(client, admin_headers, 标题=f"第{i}号通知", 正文="关于考勤打卡的说明")
    add(client, admin_headers, 标题="考勤打卡制度", 正文="考勤打卡时间与考勤异常处理，考勤考勤")
    add(client, admin_headers, 标题="食堂菜单", 正文="本周菜单")
    titles, total = find(client, admin_headers, "考勤", per_page=10)
    assert total == 24 and len(titles) == 10 and titles[0] == "考勤打卡制度"
    titles, total = find(client, admin_headers, "考勤", per_page=10, page=3)
    assert total == 24 and len(titles) == 4
    assert find(client, admin_headers, "考勤", per_page=10, page=9) == ([], 24)
    # a sort asked for wins over the rank
    titles, _ = find(client, admin_headers, "考勤", per_page=30, sort="标题")
    assert titles == sorted(titles)


def test_a_field_hidden_from_a_role_is_not_searchable_by_it(client, jimu, admin_headers):
    install_package(jimu, HANDBOOK)
    staff = headers_for(jimu, "lin", roles=["staff"])
    add(client, admin_headers, 标题="出差补贴标准", 正文="一线城市每天三百元", 内部意见="明年下调补贴")
    add(client, admin_headers, 标题="补贴下调通知", 正文="自明年起")
    assert find(client, admin_headers, "下调")[1] == 2
    titles, total = find(client, staff, "下调")           # the first matches only in the hidden field
    assert (titles, total) == (["补贴下调通知"], 1)
    assert find(client, staff, "明年 下调") == (["补贴下调通知"], 1)
    assert find(client, staff, '"明年下调"')[1] == 0
    assert find(client, admin_headers, '"明年下调"') == (["出差补贴标准"], 1)
    # the hidden value never comes back either
    resp = client.get("/api/v1/forms/制度/records", query_string={"q": "补贴"}, headers=staff).get_json()
    assert resp["total"] == 2 and all("内部意见" not in r for r in resp["records"])


def test_updates_and_deletes_keep_the_index_in_step(client, jimu, admin_headers):
    install_package(jimu, HANDBOOK)
    rid = add(client, admin_headers, 标题="会议室预订", 正文="在门户提交申请")
    other = add(client, admin_headers, 标题="车辆预订", 正文="提前一天申请")
    resp = client.patch(f"/api/v1/forms/制度/records/{rid}", json={"标题": "培训教室借用"}, headers=admin_headers)
    assert resp.status_code == 200, resp.get_json()
    assert find(client, admin_headers, "会议室")[1] == 0
    assert find(client, admin_headers, "教室")[0] == ["培训教室借用"]
    assert find(client, admin_headers, "门户")[0] == ["培训教室借用"]     # untouched fields stay found
    client.patch(f"/api/v1/forms/制度/records/{rid}", json={"页数": 3}, headers=admin_headers)
    assert find(client, admin_headers, "教室")[0] == ["培训教室借用"]
    assert client.delete(f"/api/v1/forms/制度/records/{other}", headers=admin_headers).status_code == 204
    assert find(client, admin_headers, "申请") == (["培训教室借用"], 1)


def test_the_index_exists_after_import_and_reindex_rebuilds_documents(app, client, jimu, admin_headers, runner):
    from runtime.store import search
    install_package(jimu, HANDBOOK)
    add(client, admin_headers, 标题="印章使用规定", 正文="用印需审批")
    with jimu.begin() as conn:
        ft = jimu.catalog.refresh(conn).form("制度")
        inspector = sa.inspect(conn)
        if conn.dialect.name == "sqlite":
            assert inspector.has_table(f"{ft.table.name}_fts")
        else:
            assert search.index_name(ft) in {ix["name"] for ix in inspector.get_indexes(ft.table.name)}
        conn.execute(sa.update(ft.table).values(search_doc=None))  # as an install from before search left it
    assert find(client, admin_headers, "印章")[1] == 0
    result = runner.invoke(args=["reindex", "制度"])
    assert result.exit_code == 0 and "1 records" in result.output, result.output
    assert find(client, admin_headers, "印章") == (["印章使用规定"], 1)
    assert runner.invoke(args=["reindex", "没有"]).exit_code == 2
    # a new searchable field on a later version: existing records are indexed by it on publish
    upgraded = {**HANDBOOK, "app": {**HANDBOOK["app"], "version": "1.1.0"}}
    upgraded["forms"] = [{**HANDBOOK["forms"][0], "version": 2,
                          "fields": HANDBOOK["forms"][0]["fields"] + [{"key": "关键词", "label": "关键词",
                                                                        "widget": "text"}]}]
    install_package(jimu, upgraded)
    assert find(client, admin_headers, "审批") == (["印章使用规定"], 1)


def test_the_write_path_shortcuts_cut_texts_exactly_as_jieba_does():
    """``index_words`` skips jieba for ASCII texts and for the ASCII tail (from a digit) of a Chinese text, and
    caches repeated texts; on a corpus of mixed texts (Chinese, digits, codes, decimals, e-mails,
    the dictionary's ASCII words such as C++ and AT&T, words joining Latin letters to Chinese such as
    T恤) it gives exactly the words jieba's own two cuts give."""
    import random

    from runtime.store import search

    jieba = search._segmenter()

    def by_jieba(text):
        words = _norm(jieba.cut_for_search(text))
        if search._CJK.search(text):
            seen = set(words)
            words += [w for w in _norm(jieba.cut(text, cut_all=True)) if w not in seen]
        return words

    rng = random.Random(16)
    chars = "客户订单发票重开增值税作废申请报销流程说明年假规定张伟王芳上海北京深圳市第号服务器故障高中低的了是在有"
    words = ["客户", "订单", "发票", "增值税", "服务器", "故障", "北京市", "T恤", "B超", "C++", "AT&T", "卡拉OK", "c#"]
    latin = " .-_@#&+%/:()0123456789abcXYZ，。！"
    texts = ["客户123", "订单20240001", "N0000123", "u1@example.com", "T.96O9", "3.14", "50%", "C++ 与 AT&T",
             "客户3-1042", "张伟2#u7@example.com", "客户1 abc", "订单1.5%", "发票12C++", "王芳1AT&T", "第3号 x",
             "客户3.5kg", "v2.0b1", "客户50-0", "您的工单 GD-20261207-0021 已受理", "版本v2.0b1已发布", "订单a.5b号",
             "您的工单 GD-20261207-0022 已受理"]   # the second: its template's blocks from memory
    for _ in range(3000):
        parts = []
        for _ in range(rng.randint(1, 4)):
            r = rng.random()
            parts.append("".join(rng.choice(chars) for _ in range(rng.randint(1, 6))) if r < 0.4 else
                         rng.choice(words) if r < 0.6 else str(rng.randint(0, 10 ** rng.randint(1, 9))) if r < 0.85
                         else "".join(rng.choice(latin) for _ in range(rng.randint(1, 5))))
        texts.append("".join(parts))
    for text in texts + texts[:50]:   # the second time from the cache
        assert search.index_words(text) == by_jieba(text), text
    assert search.index_words("客户123") == ["客户", "123"] and search.index_words("T.96O9") == ["t", "96", "o9"]


def test_a_document_cuts_an_ascii_text_as_jieba_does_without_the_cache():
    """A record's ASCII texts (codes, addresses, numbers) go into its search document without the cache of
    texts (``_ascii_joined``): on codes, e-mails, decimals and the dictionary's ASCII words, its part of
    the document is exactly the words of jieba's two cuts joined, and nothing is cached for it."""
    import random

    from runtime.store import search

    jieba = search._segmenter()
    rng = random.Random(17)
    latin = "abcXYZ0123456789 .-_@#&+%/:()\t"
    pieces = ["AT&T", "C++", "c#", "C#", "a.5b", "3.14", "x.y", "1.2.3a", "GD-20261207-0001", "r0u1@example.com"]
    texts = ["N0000123", "u1@example.com", "T.96O9", "v2.0b1", "C++ and AT&T", "50%"]
    texts += ["".join(rng.choice(latin) if rng.random() < 0.8 else rng.choice(pieces)
                      for _ in range(rng.randint(1, 20))) for _ in range(3000)]
    for text in texts:
        assert search._ascii_joined(text) == " ".join(_norm(jieba.cut_for_search(text))), text
    search._joined.cache_clear()
    assert [search._ascii_joined(t) for t in ("N0000123", "u1@example.com")] == ["n0000123", "u1 example com"]
    assert search._joined.cache_info().currsize == 0
    assert search._ascii_joined("C++ and AT&T") == "c and at t" and search._joined.cache_info().currsize == 1
    assert search._ascii_joined("R0N000001") == "r0n000001" and search._ascii_joined("A.B-C d") == "a b c d"


def _norm(words):
    """The letter-and-digit runs of each word in turn, lower case (what the index keeps of a cut)."""
    import re
    return [run for w in words for run in re.findall(r"[^\W_]+", w.lower())]


def test_one_walk_gives_the_words_of_both_jieba_cuts():
    """``_cuts`` builds each block's word graph once for jieba's search-mode and full-mode cuts, and
    walks it with no more lookups in the dictionary; on
    sentences mixing Chinese (names the HMM cuts, dictionary words, single characters), spaces and
    line breaks, punctuation, other scripts (Greek final sigma, Cyrillic, Korean, accented and
    full-width letters) and ASCII codes, its words are exactly those of jieba's two cuts."""
    import random

    from runtime.store import search

    jieba = search._segmenter()
    rng = random.Random(15)
    chars = "客户订单发票重开增值税作废申请报销流程说明年假规定张伟王芳欧阳李娜上海北京深圳市第号您好我们会尽快处理已受理的了是在有"
    other = ["Straße ", "ΑΣ Σα", "привет мир", "café", "İstanbul", "  \r\n\t", "，。！？", "T恤", "C++", "AT&T",
             "卡拉OK", "x_y", "ｆｕｌｌ", "①②", "한국어", "にほんご", "TK-2026-00057", "3.14%"]
    texts = ["张三您好，您的工单 TK-2026-00057 已受理，我们会尽快处理。", "无法登录账号 57", "",
             "第30次无法登录账号", "登录30号系统时提示密码错误", "客户30您好", "欧阳娜娜3次", "第1第2第3"]
    for _ in range(3000):
        texts.append("".join(
            "".join(rng.choice(chars) for _ in range(rng.randint(1, 12))) if r < 0.5 else rng.choice(other)
            if r < 0.8 else str(rng.randint(0, 10 ** rng.randint(1, 9)))
            for r in (rng.random() for _ in range(rng.randint(1, 6)))))
    for text in texts:
        full = tuple(_norm(jieba.cut(text, cut_all=True))) if search._CJK.search(text) else ()
        assert search._cuts.__wrapped__(text) == (tuple(_norm(jieba.cut_for_search(text))), full), text


LOGBOOK = {"format": "jimu.app", "version": 2, "app": {"key": "logbook", "version": "1.0.0", "label": "日志"},
           "forms": [
    {"key": "日志", "version": 1, "label": L("日志", "Log"), "title_field": "标题",
     "fields": [{"key": "标题", "label": "标题", "widget": "text"},
                {"key": "正文", "label": "正文", "widget": "textarea"},
                {"key": "数量", "label": "数量", "widget": "number"}],
     "public": {"portal": {"fields": ["标题", "正文"], "search": ["标题", "正文"]}}}]}


def test_a_broad_search_counts_up_to_the_cap_and_ranks_the_newest_matches(client, jimu, admin_headers, monkeypatch):
    """A common word matching a large share of a big table answers as fast as a narrow one: the total
    is counted up to ``COUNT_CAP`` and said to be capped ("20+", ``total_capped``), the ranked page is
    the best of the newest matches; a sorted page and an export still read every match, and a small
    result stays exact."""
    from runtime.store import search
    monkeypatch.setattr(search, "COUNT_CAP", 20)
    install_package(jimu, LOGBOOK)
    rows = [{"标题": "考勤考勤考勤考勤", "正文": "考勤考勤", "数量": 1}]                       # the oldest: outside the window
    rows += [{"标题": f"第{i}号记录", "正文": "关于考勤的说明", "数量": (i * 37) % 100} for i in range(30)]
    rows += [{"标题": "考勤打卡制度", "正文": "考勤打卡与考勤异常处理", "数量": 5}]
    rows += [{"标题": f"年假第{i}条", "正文": "入职满一年享有年假", "数量": 200 + i} for i in range(3)]
    resp = client.post("/api/v1/forms/日志/records", json=rows, headers=admin_headers)
    assert resp.status_code == 201, resp.get_json()
    ids = resp.get_json()["ids"]
    matching = ids[:32]

    def get(**params):
        resp = client.get("/api/v1/forms/日志/records", query_string=params, headers=admin_headers)
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    first = get(q="考勤", per_page=10)
    assert (first["total"], first["total_capped"], len(first["records"])) == (20, True, 10)
    assert first["records"][0]["标题"] == "考勤打卡制度"        # the best of the newest 21 matches
    window = set(sorted(matching)[-21:])
    assert {r["id"] for r in first["records"]} <= window and first["next"]
    second = get(q="考勤", per_page=10, page=2)
    assert len(second["records"]) == 10 and second["next"] is None      # the pages end at the cap
    assert not {r["id"] for r in first["records"]} & {r["id"] for r in second["records"]}
    # a narrow query stays exact
    narrow = get(q="年假")
    assert (narrow["total"], narrow["total_capped"]) == (3, False) and len(narrow["records"]) == 3
    # a sort asked for reads every match: its first page is the true one
    by_count = get(q="考勤", sort="-数量", per_page=5)
    everything = {rid: row for rid, row in zip(ids, rows)}
    expected = sorted(matching, key=lambda rid: (-everything[rid]["数量"], rid))[:5]
    assert [r["数量"] for r in by_count["records"]] == [everything[rid]["数量"] for rid in expected]
    assert (by_count["total"], by_count["total_capped"]) == (20, True)
    # an export holds every match
    export = client.get("/api/v1/forms/日志/records/export.csv", query_string={"q": "考勤"}, headers=admin_headers)
    assert export.status_code == 200 and len(export.get_data(as_text=True).strip().splitlines()) == 1 + 32
    # the list page and the portal say "20+"
    sign_in(client, jimu, make_user(jimu, "boss", admin=True))
    for url in ("/forms/日志?q=考勤", "/p/日志/portal?q=考勤"):
        html = client.get(url).get_data(as_text=True)
        assert "20+" in html.split('id="record-count">', 1)[1].split("<", 1)[0], url
    html = client.get("/forms/日志?q=年假").get_data(as_text=True)
    assert "3" in html.split('id="record-count">', 1)[1].split("<", 1)[0] and "+" not in html.split(
        'id="record-count">', 1)[1].split("<", 1)[0]
    # the flag is documented
    doc = client.get("/api/v1/openapi.json", headers=admin_headers).get_json()
    listing = doc["paths"]["/forms/日志/records"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listing["properties"]["total_capped"]["type"] == "boolean" and "total_capped" in listing["required"]
