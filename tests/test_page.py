"""The page at `/` in a real browser (Playwright driving Debian's Chromium) against a real uvicorn on
127.0.0.1: paste an article, submit, read the highlighted entities and the project table.

Chromium comes from `apt-get install -y chromium` (`make install-test` does it as root); Playwright's
own browser download cannot work offline. Without either, the tests skip and say why.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from zhie.annotation.records import Document
from zhie.inference.extractor import DEFAULT_MODEL_DIR
from zhie.inference.server import create_app

ARTICLE = ("新华社成都3月12日电 2025年3月12日，四川省青川县与星河动力签约，新能源装备产业园项目落户青川县，"
           "总投资18.5亿元，预计2026年底投产。")

MARKED_TEXT = "e => e.firstChild.textContent"  # a mark's article text, without its label tag


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (make install-test)")
    exe = _chromium()
    if exe is None:
        pytest.skip("no Chromium: `apt-get install -y chromium` as root (make install-test does it when it can)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        yield b
        b.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(url: str, proc: subprocess.Popen | None = None, log: Path | None = None, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}: {log.read_text() if log else ''}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not come up in {seconds} s")


class _FixedPredictor:
    """Answers every text with one designed record: entities with values, relations and a project."""

    model_version = "fixed-1"

    def predict_documents(self, docs):
        def ent(i, label, text, value=None):
            start = ARTICLE.index(text)
            return {"id": f"e{i}", "label": label, "start": start, "end": start + len(text), "text": text,
                    "score": 0.9, **({"value": value} if value else {})}

        project = "新能源装备产业园项目"
        rec = {
            "id": docs[0].id, "text": ARTICLE,
            "entities": [ent(1, "DATE", "2025年3月12日", {"kind": "DATE", "start": "2025-03-12", "end": "2025-03-12"}),
                         ent(2, "LOC", "四川省青川县", {"kind": "LOC", "province": "四川省", "city": "广元市",
                                                     "district": "青川县", "adcode": "510822"}),
                         ent(3, "ORG", "星河动力"), ent(4, "PROJECT", project),
                         ent(5, "MONEY", "18.5亿元", {"kind": "MONEY", "amount": 1.85e9, "currency": "CNY"})],
            "relations": [{"head": "e4", "tail": "e5", "label": "project_amount", "score": 0.8},
                          {"head": "e4", "tail": "e2", "label": "project_location", "score": 0.7}],
            "projects": [{"name": project, "mentions": ["e4"], "amounts": [{"id": "e5", "text": "18.5亿元"}],
                          "locations": [{"id": "e2", "text": "四川省青川县"}]}],
        }
        return [Document.model_validate(rec)]


@pytest.fixture(scope="module")
def fixed_server() -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(_FixedPredictor()), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    _wait_up(url, seconds=30)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


def _submit(page, url: str, text: str, pub_date: str) -> None:
    page.goto(url + "/")
    page.wait_for_selector("#legend .legend-item", state="attached")
    page.fill("#text", text)
    page.fill("#pub_date", pub_date)
    page.click("#submit")
    page.wait_for_selector("#result:not([hidden])", timeout=60_000)


def test_page_highlights_entities_and_lists_projects(browser, fixed_server, tmp_path):
    page = browser.new_page()
    _submit(page, fixed_server, ARTICLE, "2025-03-12")
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    assert page.locator("#legend .legend-item").all_inner_texts() == ["ORG", "MONEY", "DATE", "LOC", "PROJECT"]
    marks = page.locator("#article mark")
    assert [(m.get_attribute("data-label"), m.evaluate(MARKED_TEXT)) for m in marks.all()] == [
        ("DATE", "2025年3月12日"), ("LOC", "四川省青川县"), ("ORG", "星河动力"), ("PROJECT", "新能源装备产业园项目"),
        ("MONEY", "18.5亿元")]
    colours = {m.get_attribute("data-label"): m.evaluate("e => getComputedStyle(e).backgroundColor") for m in marks.all()}
    assert len(set(colours.values())) == 5, "one colour per label"
    article = page.locator("#article").evaluate(
        "e => Array.from(e.childNodes).map(n => n.nodeType === 3 ? n.textContent : n.firstChild.textContent).join('')")
    assert article == ARTICLE, "the article reads unchanged around the marks"
    assert "1,850,000,000 CNY" in marks.last.get_attribute("title")
    rows = page.locator("#projects tbody tr")
    assert rows.count() == 1
    cells = rows.first.locator("td").all_inner_texts()
    assert cells[0] == "新能源装备产业园项目"
    assert "18.5亿元" in cells[1] and "1,850,000,000 CNY" in cells[1]
    assert "四川省青川县" in cells[2] and "四川省 广元市 青川县 (510822)" in cells[2]
    assert page.inner_text("#model-version") == "fixed-1"


def test_page_shows_the_service_message_for_refused_input(browser, fixed_server):
    page = browser.new_page()
    page.goto(fixed_server + "/")
    page.wait_for_selector("#legend .legend-item", state="attached")
    page.evaluate("document.getElementById('text').required = false")
    page.click("#submit")  # an empty article is fine for the API: it answers with an empty record
    page.wait_for_selector("#result:not([hidden])")
    page.fill("#text", "重" * 100_001)
    page.click("#submit")
    page.wait_for_function("document.getElementById('error').textContent.length > 0")
    assert "413" in page.inner_text("#error") and "the limit is 100000" in page.inner_text("#error")


@pytest.fixture(scope="module")
def zhie_serve(tmp_path_factory) -> Iterator[str]:
    """`zhie serve` with the bundled model, as a user starts it."""
    if not (DEFAULT_MODEL_DIR / "config.json").exists():
        pytest.skip("the bundled model is missing (make model)")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "ZHIE_API_TOKEN"} | {"HF_HUB_OFFLINE": "1"}
    log = tmp_path_factory.mktemp("serve") / "serve.log"  # a file, not a pipe nobody drains
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "zhie.cli", "serve", "--port", str(port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(url, proc, log)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_page_with_zhie_serve_and_the_bundled_model(browser, zhie_serve):
    api = httpx.post(zhie_serve + "/v1/extract", json={"text": ARTICLE, "pub_date": "2025-03-12"}, timeout=60).json()
    rec = api["records"][0]
    assert any(e["label"] == "MONEY" and "亿元" in e["text"] for e in rec["entities"]), rec["entities"]
    page = browser.new_page()
    _submit(page, zhie_serve, ARTICLE, "2025-03-12")
    marks = page.locator("#article mark").all()
    assert [(m.get_attribute("data-label"), m.get_attribute("title").split(" · ")[0]) for m in marks] == \
        [(e["label"], e["label"]) for e in rec["entities"]]
    shown = [m.evaluate(MARKED_TEXT) for m in marks]
    assert shown == [e["text"] for e in rec["entities"]]
    rows = page.locator("#projects tbody tr").all()
    assert [r.locator("td").first.inner_text() for r in rows] == [p["name"] for p in rec.get("projects", [])]
    assert page.inner_text("#model-version") == api["model_version"]
