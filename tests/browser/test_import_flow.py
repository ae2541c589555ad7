"""Importing a spreadsheet in Chromium (HR app): upload → map the column the labels did not match →
preview with the bad cells marked → import → the progress page, polled, ends with the counts and the
rejected rows' download; a reload finds the import again. Bounded: 40 rows, 20 s."""
import csv
import io

import pytest

from runtime import jobs
from runtime.dataio import importer
from tests.conftest import browser_login, install_package, make_user
from tests.runtime.hr_package import hr_package

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_upload_map_preview_import_with_progress(jimu, live_server, page, artifacts, tmp_path, monkeypatch):
    install_package(jimu, hr_package())
    make_user(jimu, "hr", admin=True)
    monkeypatch.setattr(importer, "STEP_ROWS", 5)   # several worker steps: progress moves
    monkeypatch.setattr(importer, "BATCH_ROWS", 5)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["员工姓名", "城市", "级别", "月薪"])
    for i in range(40):
        w.writerow([f"员工{i}", "火星" if i in (3, 17) else "上海", "中级", 8000 + i])
    path = tmp_path / "staff.csv"
    path.write_bytes(buf.getvalue().encode("utf-8-sig"))
    stop = jobs.start_embedded_worker(jimu)
    try:
        browser_login(page, live_server, "hr")
        page.goto(f"{live_server}/forms/员工")
        page.click("#import-link")
        page.set_input_files("#import-file", str(path))
        page.get_by_role("button", name="上传并对应列").click()
        page.wait_for_selector("#import-mapping")
        assert page.locator('select[data-heading="城市"]').input_value() == "城市"      # matched by label
        assert page.locator('select[data-heading="员工姓名"]').input_value() == ""      # not a label
        page.locator('select[data-heading="员工姓名"]').select_option("姓名")
        page.click("#import-preview-button")
        page.wait_for_selector("#import-preview")
        bad = page.locator("td.cell-error")
        assert bad.count() == 2 and bad.first.get_attribute("data-code") == "form.invalid_choice"  # rows 5 and 19
        page.screenshot(path=str(artifacts / "import-preview.png"), full_page=True)
        page.click("#import-go")
        page.wait_for_url("**/imports/*")
        page.reload()                                      # the state is the server's: a reload finds it
        page.wait_for_selector('#import-status[data-status="done"]', timeout=20_000)
        assert page.locator("#import-imported").inner_text() == "38"
        assert page.locator("#import-rejected").inner_text() == "2"
        assert page.locator("#import-progress").get_attribute("value") == "100"
        assert page.locator("#rejected-xlsx").is_visible()
        page.screenshot(path=str(artifacts / "import-done.png"), full_page=True)
    finally:
        stop.set()
