"""Public pages: anonymous submission of listed fields only, rate limit, private status link,
a survey reached through a signed record link, and a portal with Chinese search."""
import re

from tests.conftest import install_package


def L(zh, en):
    return {"zh-CN": zh, "en": en}


PKG = {"format": "jimu.app", "version": 2, "app": {"key": "svc", "version": "1.0.0", "label": "Svc"},
       "forms": [
    {"key": "报修", "version": 1, "label": L("报修", "Repair"), "title_field": "标题",
     "fields": [{"key": "编号", "label": "编号", "widget": "serial", "config": {"pattern": "BX-{0000}"}},
                {"key": "标题", "label": "标题", "widget": "text", "required": True},
                {"key": "描述", "label": "描述", "widget": "textarea"},
                {"key": "状态", "label": "状态", "widget": "select", "default": "新建",
                 "config": {"options": ["新建", "处理中", "已解决"]}},
                {"key": "内部备注", "label": "内部备注", "widget": "text"}],
     "public": {"submit": {"fields": ["标题", "描述"], "rate_limit": 3},
                "status": {"fields": ["编号", "标题", "状态"]}}},
    {"key": "评价", "version": 1, "label": L("评价", "Rating"),
     "fields": [{"key": "报修单", "label": "报修单", "widget": "link", "config": {"form": "报修"}, "required": True},
                {"key": "分数", "label": "分数", "widget": "rating", "required": True}],
     "public": {"submit": {"fields": ["分数"], "ref_field": "报修单", "once_per_ref": True}}},
    {"key": "文章", "version": 1, "label": L("文章", "Article"), "title_field": "标题",
     "fields": [{"key": "标题", "label": "标题", "widget": "text"},
                {"key": "正文", "label": "正文", "widget": "textarea"},
                {"key": "已发布", "label": "已发布", "widget": "switch"}],
     "public": {"portal": {"fields": ["标题", "正文"], "search": ["标题", "正文"],
                           "filter": [{"field": "已发布", "op": "eq", "value": True}]}}},
]}


def csrf(client, url):
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_anonymous_submission_keeps_only_public_fields_and_gives_a_status_link(client, jimu, admin_headers):
    install_package(jimu, PKG)
    token = csrf(client, "/p/报修")
    resp = client.post("/p/报修", data={"csrf_token": token, "标题": "空调不制冷", "描述": "三楼会议室",
                                         "内部备注": "想偷偷写", "状态": "已解决"})
    assert resp.status_code == 201
    html = resp.get_data(as_text=True)
    status_url = re.search(r'id="status-link" href="([^"]+)"', html).group(1)
    record = client.get("/api/v1/forms/报修/records?per_page=5", headers=admin_headers).get_json()["records"][0]
    assert record["内部备注"] is None and record["状态"] == "新建" and record["编号"] == "BX-0001"
    page = client.get(status_url.replace("http://localhost", "")).get_data(as_text=True)
    assert "BX-0001" in page and "空调不制冷" in page and "想偷偷写" not in page
    tampered = status_url.replace("http://localhost", "")[:-3] + "xyz"
    assert client.get(tampered).status_code == 404


def test_rate_limit_per_address(client, jimu):
    install_package(jimu, PKG)
    token = csrf(client, "/p/报修")
    codes = [client.post("/p/报修", data={"csrf_token": token, "标题": f"t{i}"}).status_code for i in range(4)]
    assert codes == [201, 201, 201, 429]


def test_invalid_submission_shows_errors_and_honeypot_refuses_bots(client, jimu):
    install_package(jimu, PKG)
    token = csrf(client, "/p/报修")
    bad = client.post("/p/报修", data={"csrf_token": token, "描述": "没有标题"})
    assert bad.status_code == 422 and 'data-code="form.required"' in bad.get_data(as_text=True)
    assert client.post("/p/报修", data={"csrf_token": token, "标题": "x", "website": "spam"}).status_code == 400


def test_survey_through_a_signed_link_once_per_record(app, client, jimu, admin_headers):
    install_package(jimu, PKG)
    rid = client.post("/api/v1/forms/报修/records", json={"标题": "打印机卡纸"}, headers=admin_headers).get_json()["id"]
    with app.test_request_context():
        from runtime.public import record_link
        link = record_link("报修", rid, page="submit", about="评价").replace("http://localhost", "")
    assert client.get("/p/评价").status_code == 400                       # no ref: refused
    token = csrf(client, link)
    ref = link.split("ref=")[1]
    assert client.post("/p/评价", data={"csrf_token": token, "ref": ref, "分数": "5", "报修单": "999"}).status_code == 201
    assert client.post("/p/评价", data={"csrf_token": token, "ref": ref, "分数": "1"}).status_code == 409
    ratings = client.get("/api/v1/forms/评价/records", headers=admin_headers).get_json()["records"]
    assert [(r["报修单"], r["分数"]) for r in ratings] == [(rid, 5)]
    with app.test_request_context():
        from runtime.public import record_token
        wrong_form = record_token("文章", rid)
    assert client.get(f"/p/评价?ref={wrong_form}").status_code == 404


def test_portal_searches_published_records_in_chinese(client, jimu, admin_headers):
    install_package(jimu, PKG)
    for title, body, published in [("如何重置密码", "在登录页点击忘记密码", True), ("发票重开流程", "提供税号", True),
                                    ("内部草稿：重置密码脚本", "不公开", False)]:
        client.post("/api/v1/forms/文章/records", json={"标题": title, "正文": body, "已发布": published},
                    headers=admin_headers)
    html = client.get("/p/文章/portal?q=重置密码").get_data(as_text=True)
    assert "如何重置密码" in html and "内部草稿" not in html and "发票" not in html
    assert "1" in re.search(r'id="record-count">([^<]*)<', html).group(1)
    hidden_id = client.get("/api/v1/forms/文章/records?sort=-id", headers=admin_headers).get_json()["records"][0]["id"]
    assert client.get(f"/p/文章/portal/{hidden_id}").status_code == 404
    assert client.get("/p/文章").status_code == 404                      # no submit block
    assert client.get("/p/报修/qr.svg").mimetype == "image/svg+xml"


def test_the_portal_reads_through_the_policy_as_the_anonymous_role(client, jimu, admin_headers):
    """The portal asks the one permission policy (``policy.public_reader``): its filter is the anonymous
    role's row scope, and a field that a role reading the form hides (here the author's internal note,
    hidden from the package's 'reader' role) is neither shown nor searchable, although the portal block
    lists it. On the old portal the search found the article by its internal note and showed the note."""
    import copy
    pkg = copy.deepcopy(PKG)
    article = pkg["forms"][2]
    article["fields"].append({"key": "内部备注", "label": "内部备注", "widget": "text"})
    article["public"]["portal"].update({"fields": ["标题", "正文", "内部备注"], "search": ["标题", "正文", "内部备注"]})
    pkg["roles"] = [{"key": "reader", "version": 1, "label": "Reader", "permissions": {"文章": ["read"]},
                     "fields": {"文章": {"内部备注": "hidden"}}}]
    install_package(jimu, pkg)
    for title, note, published in [("打印机卡纸", "供应商报价 8000 元", True), ("草稿：网络改造", "预算机密", False)]:
        r = client.post("/api/v1/forms/文章/records", json={"标题": title, "正文": "步骤", "内部备注": note,
                                                          "已发布": published}, headers=admin_headers)
        assert r.status_code == 201
    ids = {r["标题"]: r["id"] for r in
           client.get("/api/v1/forms/文章/records", headers=admin_headers).get_json()["records"]}

    def count(html):
        return int(re.search(r'\d+', re.search(r'id="record-count">([^<]*)<', html).group(1)).group(0))

    listing = client.get("/p/文章/portal").get_data(as_text=True)
    assert "打印机卡纸" in listing and "草稿" not in listing and "8000" not in listing
    assert count(client.get("/p/文章/portal?q=8000").get_data(as_text=True)) == 0  # no search oracle
    assert count(client.get("/p/文章/portal?q=卡纸").get_data(as_text=True)) == 1
    item = client.get(f"/p/文章/portal/{ids['打印机卡纸']}")
    assert item.status_code == 200 and "8000" not in item.get_data(as_text=True)
    assert client.get(f"/p/文章/portal/{ids['草稿：网络改造']}").status_code == 404  # outside the row scope
    assert count(client.get("/p/文章/portal?q=网络改造").get_data(as_text=True)) == 0
