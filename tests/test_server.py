"""The HTTP service (`zhie serve`) through FastAPI's TestClient: the same records as the Python API,
limits, the token, concurrent clients, the Label Studio routes, and the `zhie serve` verb."""
from __future__ import annotations

import base64
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from zhie.annotation.records import Document
from zhie.inference import Extractor
from zhie.inference.server import DEFAULT_MAX_CHARS, DEFAULT_MAX_TEXTS, create_app

ART = "2025年3月12日，青川县与星河动力签约，新能源装备产业园项目总投资18.5亿元。"
ART2 = "２０２４年，ＡＢ公司 在  重庆😀投资6亿元。\n第二段: abc (half-width) 与（全角）标点。"


@pytest.fixture(scope="module")
def extractor(tiny_ner_model_dir) -> Extractor:
    return Extractor.load(tiny_ner_model_dir)


@pytest.fixture(scope="module")
def client(extractor) -> TestClient:
    with TestClient(create_app(extractor, max_chars=200, max_texts=4)) as c:
        yield c


def _dump(docs: list[Document]) -> list[dict]:
    return [d.model_dump(mode="json", exclude_none=True) for d in docs]


def _messages(resp) -> str:
    detail = resp.json()["detail"]
    return detail if isinstance(detail, str) else " | ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in detail)


def test_one_text_gives_the_python_api_record(client, extractor):
    r = client.post("/v1/extract", json={"text": ART, "pub_date": "2025-03-12", "id": "a1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_version"] == extractor.model_version
    assert body["records"] == _dump([extractor.predict(ART, pub_date="2025-03-12", id="a1")])
    rec = body["records"][0]
    assert rec["pub_date"] == "2025-03-12" and rec["entities"], "the random model always tags something here"
    assert all(ART[e["start"]:e["end"]] == e["text"] for e in rec["entities"])


def test_a_batch_keeps_order_ids_and_dates(client, extractor):
    texts, dates, ids = [ART, ART2, "短"], ["2025-03-12", None, "2024-01-31"], ["x", "y", "z"]
    r = client.post("/v1/extract", json={"texts": texts, "pub_dates": dates, "ids": ids})
    assert r.status_code == 200, r.text
    assert r.json()["records"] == _dump(extractor.predict_batch(texts, dates, ids))
    r = client.post("/v1/extract", json={"texts": texts[:2], "pub_date": "2025-03-12"})
    assert [(x["id"], x["pub_date"]) for x in r.json()["records"]] == [("doc-1", "2025-03-12"), ("doc-2", "2025-03-12")]


def test_empty_and_whitespace_texts_give_empty_records(client):
    r = client.post("/v1/extract", json={"texts": ["", " \n\t\u3000 "]})
    assert r.status_code == 200, r.text
    assert [(x["text"], x["entities"]) for x in r.json()["records"]] == [("", []), (" \n\t\u3000 ", [])]


def test_health_page_and_docs(client, extractor):
    h = client.get("/health").json()
    assert h["model_version"] == extractor.model_version and h["status"] == "ok"
    assert h["labels"] == ["ORG", "MONEY", "DATE", "LOC", "PROJECT"]
    assert h["limits"] == {"max_chars": 200, "max_texts": 4} and h["token_required"] is False
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "<textarea" in page.text and "v1/extract" in page.text
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/extract", "/health", "/ls/predict", "/ls/setup"} <= set(paths)
    assert "<html" in client.get("/docs").text.lower()


@pytest.mark.parametrize("body, status, words", [
    ({"text": "a", "texts": ["b"]}, 422, 'exactly one of "text"'),
    ({}, 422, 'exactly one of "text"'),
    ({"txt": "a"}, 422, "body.txt: Extra inputs are not permitted"),
    ({"text": 5}, 422, "body.text"),
    ({"text": "a", "pub_date": "2024-13-01"}, 422, "body.pub_date"),
    ({"text": "a", "ids": ["x"]}, 422, '"ids" go with "texts"'),
    ({"texts": ["a", "b"], "ids": ["x"]}, 422, "1 ids for 2 texts"),
    ({"texts": ["a"], "ids": [""]}, 422, "ids[0] is empty"),
    ({"text": "重" * 201}, 413, "text has 201 characters; the limit is 200"),
    ({"texts": ["a", "重" * 201]}, 413, "texts[1] has 201 characters"),
    ({"texts": ["a"] * 5}, 413, "5 texts in one request; the limit is 4"),
])
def test_bad_requests_are_refused_with_a_message(client, body, status, words):
    r = client.post("/v1/extract", json=body)
    assert r.status_code == status and words in _messages(r), r.text


@pytest.mark.parametrize("raw, status, words", [
    (b'{"text": "ab\\ud800"}', 422, "body.text: unpaired surrogate '\\ud800' at position 2"),
    (b'{"texts": ["ok", "\\udfff"]}', 422, "texts[1]: unpaired surrogate"),
    (b'{"text": "\xff\xfe"}', 400, "request body is not UTF-8: invalid start byte at byte 10"),
    (b'{"text": ', 422, "JSON decode error"),
    (b'[1, 2]', 422, "body"),
])
def test_malformed_bodies_are_refused_with_a_message(client, raw, status, words):
    r = client.post("/v1/extract", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == status and words in _messages(r), r.text
    assert "input" not in r.text, "errors must not echo the request"


def test_oversized_bodies_are_refused_before_they_are_read(extractor):
    with TestClient(create_app(extractor, max_chars=10, max_texts=2)) as c:
        limit = 12 * 10 * 2 + 64 * 1024
        big = b'{"text": "' + b"x" * limit + b'"}'
        r = c.post("/v1/extract", content=big, headers={"content-type": "application/json"})
        assert r.status_code == 413 and f"request body over {limit} bytes" in r.json()["detail"]
        chunks = (b"x" * 10_000 for _ in range(20))  # no Content-Length: counted while read
        r = c.post("/v1/extract", content=chunks, headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert c.post("/v1/extract", json={"text": "重庆"}).status_code == 200


def test_a_1mb_text_is_refused_by_default(extractor):
    text = "重庆投资6亿元。" * 50_000  # 1.1 MB of UTF-8, 400,000 characters
    with TestClient(create_app(extractor)) as c:
        r = c.post("/v1/extract", json={"text": text})
        assert r.status_code == 413 and f"the limit is {DEFAULT_MAX_CHARS}" in r.json()["detail"]


def test_token_is_required_when_set(extractor):
    with TestClient(create_app(extractor, api_token="s3cret-token")) as c:
        body = {"text": ART}
        r = c.post("/v1/extract", json=body)
        assert r.status_code == 401 and "Bearer" in r.json()["detail"] and r.headers["www-authenticate"] == "Bearer"
        assert c.post("/v1/extract", json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.post("/v1/extract", json=body, headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        assert c.post("/ls/predict", json={"tasks": []}).status_code == 401
        basic = base64.b64encode(b"labelstudio:s3cret-token").decode()
        assert c.get("/ls/health", headers={"Authorization": f"Basic {basic}"}).status_code == 200
        assert c.get("/health").json()["token_required"] is True  # probes and the page need no token
        assert c.get("/").status_code == 200


def test_label_studio_backend_is_mounted(client, extractor):
    r = client.post("/ls/predict", json={"tasks": [{"id": 7, "data": {"text": ART}}]})
    assert r.status_code == 200
    (pred,) = r.json()["results"]
    assert pred["model_version"] == extractor.model_version
    want = extractor.predict(ART)
    assert [x["value"]["start"] for x in pred["result"] if x["type"] == "labels"] == [e.start for e in want.entities]


def test_concurrent_clients_get_their_own_records(client, extractor):
    texts = [f"第{i}篇：{ART if i % 2 else ART2}" for i in range(12)]
    want = {t: _dump([extractor.predict(t)])[0] for t in texts}

    def call(t: str) -> dict:
        r = client.post("/v1/extract", json={"text": t})
        assert r.status_code == 200, r.text
        return r.json()["records"][0]

    with ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(call, texts * 2))
    assert got == [want[t] for t in texts * 2]


class _SlowPredictor:
    """Counts how many calls run at once (the service must run the model one call at a time)."""

    model_version = "slow-1"

    def __init__(self) -> None:
        self.running = self.most = self.calls = 0
        self._count = threading.Lock()

    def predict_documents(self, docs):
        with self._count:
            self.running += 1
            self.most = max(self.most, self.running)
            self.calls += 1
        time.sleep(0.02)
        with self._count:
            self.running -= 1
        return list(docs)


def test_the_model_runs_one_call_at_a_time_while_health_answers():
    slow = _SlowPredictor()
    with TestClient(create_app(slow)) as c, ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(c.post, "/v1/extract", json={"text": f"文{i}"}) for i in range(24)]
        assert c.get("/health").json()["model_version"] == "slow-1"
        assert all(f.result().status_code == 200 for f in futures)
        assert slow.calls == 24 and slow.most == 1


def test_serve_defaults_match_the_service():
    from zhie import serve_cmd

    assert (serve_cmd.DEFAULT_MAX_CHARS, serve_cmd.DEFAULT_MAX_TEXTS) == (DEFAULT_MAX_CHARS, DEFAULT_MAX_TEXTS)


def test_zhie_serve_reports_a_missing_model(tmp_path):
    from typer.testing import CliRunner

    from zhie.cli import app

    r = CliRunner().invoke(app, ["serve", "--model", str(tmp_path / "nowhere")])
    assert r.exit_code == 2 and "no NER model found" in r.stderr
