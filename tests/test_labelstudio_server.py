"""The Label Studio loop against a real server: setup -> import with predictions -> an annotation made
through the API -> export -> convert -> train a tiny model on the result; and our ML backend as
Label Studio calls it. The server starts once per session on 127.0.0.1 with a temporary data dir.
"""
from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from label_studio_sdk import LabelStudio
from label_studio_sdk.label_interface import LabelInterface
from ls_server import LabelStudioServer, free_port, label_studio_executable, start_label_studio
from typer.testing import CliRunner

from zhie.annotation.labelstudio.config import label_config
from zhie.annotation.labelstudio.convert import document_to_result
from zhie.annotation.records import Document
from zhie.inference.ls_backend import create_app
from zhie.training.run_config import NerRunConfig
from zhie.annotate_cmd import annotate_app

ARTICLES = {
    "a1": "【😀  快讯】11月8日上午，欧林生物重庆研究院总投资约６亿元，即6亿元，落户沙坪坝。",
    "a2": "２０２４年，奇瑞未来一工厂及发动机项目签约，总投资35.7亿元 😀。",
    "a3": "郑州市污水处理厂工程开工，计划投资5500万元。",
}


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[LabelStudioServer]:
    server = _start(pytestconfig, tmp_path_factory.mktemp("label-studio"))
    yield server
    server.stop()


def _start(pytestconfig: pytest.Config, data_dir: Path, block_local_ml: bool = False) -> LabelStudioServer:
    """A server started from the migrated database kept in the pytest cache (see ls_server)."""
    if label_studio_executable() is None:
        pytest.skip("label-studio is not installed: .venv/bin/pip install label-studio (make test does it)")
    from importlib.metadata import version

    cache = getattr(pytestconfig, "cache", None)
    template = cache.mkdir(f"label-studio-{version('label-studio')}") if cache is not None else None
    return start_label_studio(data_dir, template, block_local_ml=block_local_ml)


def _cli(server: LabelStudioServer, project: str, *args: str, code: int = 0) -> str:
    env = {"LABEL_STUDIO_URL": server.url, "LABEL_STUDIO_API_KEY": server.api_key, "ZHIE_LS_PROJECT": project}
    res = CliRunner().invoke(annotate_app, list(args), env=env)
    assert res.exit_code == code, res.output
    assert server.url not in res.output and server.api_key not in res.output
    return res.output


def _project(server: LabelStudioServer, title: str) -> tuple[LabelStudio, int]:
    ls = LabelStudio(base_url=server.url, api_key=server.api_key)
    return ls, next(p.id for p in ls.projects.list() if p.title == title and p.id)


def _next_task(server: LabelStudioServer, pid: int) -> dict[str, Any]:
    """What *Label All Tasks* gets: the next task with the predictions Label Studio serves for it."""
    res = httpx.get(f"{server.url}/api/projects/{pid}/next/", headers={"Authorization": f"Token {server.api_key}"})
    res.raise_for_status()
    task: dict[str, Any] = res.json()
    return task


def _gold(doc_id: str, text: str) -> Document:
    """A hand annotation: PROJECT + MONEY linked, found by string search in our own test articles."""
    spans = {"a1": [("欧林生物重庆研究院", "PROJECT"), ("6亿元", "MONEY"), ("沙坪坝", "LOC")],
             "a3": [("污水处理厂工程", "PROJECT"), ("5500万元", "MONEY"), ("郑州市", "LOC")]}[doc_id]
    ents = [{"id": f"r{i}", "start": text.index(s), "end": text.index(s) + len(s), "text": s, "label": lab}
            for i, (s, lab) in enumerate(spans)]
    rels = [{"head": "r0", "tail": "r1", "label": "project_amount"},
            {"head": "r0", "tail": "r2", "label": "project_location"}]
    return Document.model_validate({"id": doc_id, "text": text, "entities": ents, "relations": rels})


def test_loop_from_articles_to_a_trained_model(label_studio: LabelStudioServer, tiny_ner_model_dir: Path,
                                                tmp_path: Path) -> None:
    from zhie.inference import Extractor
    from zhie.training.train_ner import train_ner

    srv, project = label_studio, "loop"
    assert "created" in _cli(srv, project, "setup")
    assert "unchanged" in _cli(srv, project, "setup")

    folder = tmp_path / "articles"
    folder.mkdir()
    for doc_id, text in ARTICLES.items():
        (folder / f"{doc_id}.txt").write_text(text + "\n", encoding="utf-8")
    reviewed = tmp_path / "reviewed.jsonl"
    reviewed.write_text(json.dumps({"id": "g1", "text": "重庆两江新区", "pub_date": "2024-11-10", "entities": [
        {"id": "e1", "start": 0, "end": 6, "label": "LOC", "text": "重庆两江新区"}]}, ensure_ascii=False) + "\n",
        encoding="utf-8")

    out = _cli(srv, project, "import", str(folder), "--select", "2", "--model", str(tiny_ner_model_dir))
    assert "selected 2 articles by uncertainty" in out and "imported 2 tasks" in out
    out = _cli(srv, project, "import", str(folder), str(reviewed), "--predict", "--model", str(tiny_ner_model_dir))
    assert "skipped 2 articles already in the project" in out and "imported 2 tasks" in out

    ls = LabelStudio(base_url=srv.url, api_key=srv.api_key)
    pid = next(p.id for p in ls.projects.list() if p.title == project)
    tasks = {t.data["doc_id"]: t for t in ls.tasks.list(project=pid, fields="all")}
    assert sorted(tasks) == ["a1", "a2", "a3", "g1"]
    version = Extractor.load(tiny_ner_model_dir).model_version
    iface = LabelInterface(label_config())
    for doc_id in ARTICLES:
        (pred,) = tasks[doc_id].predictions
        assert pred.model_version == version and 0.0 <= pred.score <= 1.0
        assert iface.validate_prediction({"result": pred.result})
        regions = [r for r in pred.result if r["type"] == "labels"]
        assert all(ARTICLES[doc_id][r["value"]["start"]:r["value"]["end"]] == r["value"]["text"] for r in regions)
        ids = {r["id"] for r in regions}  # suggested relations (bundled relation model) link suggested regions
        assert all(r["from_id"] in ids and r["to_id"] in ids for r in pred.result if r["type"] == "relation")
    assert tasks["g1"].data["pub_date"] == "2024-11-10" and len(tasks["g1"].annotations) == 1

    # annotators at work: two corrections, one skip, one task left untouched
    for doc_id in ("a1", "a3"):
        ls.annotations.create(id=tasks[doc_id].id, result=document_to_result(_gold(doc_id, ARTICLES[doc_id])))
    ls.annotations.create(id=tasks["a2"].id, result=[], was_cancelled=True)

    data = tmp_path / "ls" / "round1" / "data.jsonl"  # folders that do not exist yet
    report = tmp_path / "reports" / "report.json"
    out = _cli(srv, project, "export", "-o", str(data), "--report", str(report))
    assert "4 tasks: kept 3, rejected 1 (cancelled 1)" in out
    docs = {d["id"]: d for d in map(json.loads, data.read_text(encoding="utf-8").splitlines())}
    assert docs["a1"] == _gold("a1", ARTICLES["a1"]).model_dump(exclude_none=True)
    assert docs["g1"]["pub_date"] == "2024-11-10"
    assert json.loads(report.read_text(encoding="utf-8"))["rejected"][0]["task_id"] == tasks["a2"].id

    # the same through a file exported from the UI
    ui_export = tmp_path / "export.json"
    ui_export.write_bytes(b"".join(ls.projects.exports.download_sync(id=pid, export_type="JSON",
                                                                     download_all_tasks=True)))
    converted = tmp_path / "converted.jsonl"
    CliRunner().invoke(annotate_app, ["convert", str(ui_export), "-o", str(converted)])
    assert converted.read_text(encoding="utf-8") == data.read_text(encoding="utf-8")
    for fmt, name in (("JSON_MIN", "JSON-MIN"), ("CSV", "CSV")):  # formats that lose relations are named
        wrong = tmp_path / f"export-{fmt}.json"
        wrong.write_bytes(b"".join(ls.projects.exports.download_sync(id=pid, export_type=fmt,
                                                                     download_all_tasks=True)))
        res = CliRunner().invoke(annotate_app, ["convert", str(wrong), "-o", str(tmp_path / "wrong.jsonl")])
        assert res.exit_code == 1 and f"this is a {name} export" in res.output and "choosing JSON" in res.output
        assert not (tmp_path / "wrong.jsonl").exists()

    train_docs = [Document.model_validate(d) for d in docs.values()]
    config = NerRunConfig(output=str(tmp_path / "model"), base_model=str(tiny_ner_model_dir), max_steps=5,
                          batch_size=2, logging_steps=5)
    metrics = train_ner(train_docs, None, config)
    assert metrics["steps"] == 5
    again = Extractor.load(tmp_path / "model").predict(ARTICLES["a1"])
    assert again.text == ARTICLES["a1"]


class FakePredictor:
    """Marks every 亿元 amount as MONEY; enough to check the wire format without a model."""

    model_version = "fake-1"

    def predict_documents(self, docs: list[Document]) -> list[Document]:
        out = []
        for doc in docs:
            ents = []
            if (i := doc.text.find("6亿元")) >= 0:
                ents.append({"id": "e1", "label": "MONEY", "start": i, "end": i + 3, "text": "6亿元", "score": 0.75})
            out.append(Document(id=doc.id, text=doc.text, entities=ents))
        return out


def test_backend_contract_offline() -> None:
    client = TestClient(create_app(FakePredictor()))
    assert client.get("/health").json() == {"status": "UP", "model_class": "FakePredictor", "model_version": "fake-1"}
    ok = client.post("/setup", json={"project": "1.1", "schema": label_config()})
    assert ok.json() == {"model_version": "fake-1"}
    bad = client.post("/setup", json={"project": "1.1", "schema": '<View><Text name="text" value="$text"/></View>'})
    assert bad.status_code == 422 and "zhie annotate setup" in bad.text
    tasks = [{"id": 5, "data": {"text": ARTICLES["a1"], "doc_id": "a1"}}, {"id": 6, "data": {"text": "无"}}]
    res = client.post("/predict", json={"tasks": tasks, "project": "1.1", "label_config": label_config(), "params": {}})
    first, second = res.json()["results"]
    assert first["model_version"] == "fake-1" and first["score"] == 0.75
    at = ARTICLES["a1"].index("6亿元")
    assert first["result"][0]["value"] == {"start": at, "end": at + 3, "text": "6亿元", "labels": ["MONEY"]}
    assert second["result"] == [] and second["score"] == 0.0
    missing = client.post("/predict", json={"tasks": [{"id": 9, "data": {"body": "x"}}]})
    assert missing.status_code == 422 and "task 9: data.text" in missing.text
    assert client.post("/webhook", json={"action": "ANNOTATION_CREATED"}).json()["status"] == "ok"
    assert client.get("/versions").json() == {"versions": ["fake-1"]}


@pytest.fixture
def backend_url() -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(create_app(FakePredictor()), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_label_studio_gets_suggestions_from_our_backend(label_studio: LabelStudioServer, backend_url: str) -> None:
    srv, project = label_studio, "backend"
    _cli(srv, project, "setup")
    ls, pid = _project(srv, project)
    # predictions imported earlier made their version the project's; connecting switches to the backend
    ls.projects.import_tasks(id=pid, request=[{"data": {"text": ARTICLES["a1"], "doc_id": "a1"}, "predictions": [
        {"model_version": "old-1", "score": 0.5, "result": []}]}])
    assert ls.projects.get(id=pid).model_version == "old-1"
    out = _cli(srv, project, "setup", "--backend-url", backend_url)
    # Label Studio answers the create call with 403 (it refuses the backend's local /webhook): not shown
    assert "ML backend" in out and " connected (model fake-1)" in out and "403" not in out and "HTTP" not in out
    assert "already connected (model fake-1)" in _cli(srv, project, "setup", "--backend-url", backend_url)
    (ml,) = ls.ml.list(project=pid)
    assert ml.state == "CO" and ml.model_version == "fake-1"  # connected: /health and /setup answered
    assert ls.projects.get(id=pid).model_version == ml.title == "zhie"
    # Label All Tasks now asks the backend for the suggestions of a task that has none of its version
    (pred,) = _next_task(srv, pid)["predictions"]
    assert pred["model_version"] == "fake-1" and pred["result"][0]["value"]["text"] == "6亿元"
    ls.projects.import_tasks(id=pid, request=[{"data": {"text": ARTICLES["a1"] + "又", "doc_id": "a1b"}}])
    ls.actions.create(id="retrieve_tasks_predictions", project=pid, selected_items={"all": True, "excluded": []})
    task = next(t for t in ls.tasks.list(project=pid, fields="all") if t.data["doc_id"] == "a1b")
    (pred,) = task.predictions
    got: list[dict[str, Any]] = pred.result
    assert pred.model_version == "fake-1" and got[0]["value"]["text"] == "6亿元"


def test_connecting_a_backend_that_is_not_there_fails(label_studio: LabelStudioServer) -> None:
    srv, project = label_studio, "no-backend"
    out = _cli(srv, project, "setup", "--backend-url", f"http://127.0.0.1:{free_port()}", code=1)
    assert "error: connecting the ML backend" in out and "health check failed" in out
    assert "connected" not in out.replace("Can't connect", "")
    ls, pid = _project(srv, project)
    assert list(ls.ml.list(project=pid)) == [] and not ls.projects.get(id=pid).model_version


def test_connecting_a_local_backend_to_a_label_studio_that_blocks_it_fails(
        pytestconfig: pytest.Config, tmp_path: Path, backend_url: str) -> None:
    """Label Studio's default refuses local ML backends with HTTP 403: an error naming the setting, exit 1."""
    srv = _start(pytestconfig, tmp_path / "ls", block_local_ml=True)
    try:
        out = _cli(srv, "blocked", "setup", "--backend-url", backend_url, code=1)
    finally:
        srv.stop()
    assert "error: connecting the ML backend" in out and "HTTP 403" in out and "ML_BLOCK_LOCAL_IP=false" in out
    assert " connected" not in out


def test_import_shows_the_predictions_of_the_model_it_used(label_studio: LabelStudioServer, tiny_ner_model_dir: Path,
                                                           tmp_path: Path) -> None:
    """Label Studio serves only the project's model version: after retraining, the import switches it."""
    srv, project = label_studio, "versions"
    _cli(srv, project, "setup")
    model_b = tmp_path / "ner-round1"  # "retrained": another folder, so another version
    shutil.copytree(tiny_ner_model_dir, model_b)
    versions = []
    for round_, (doc_id, model) in enumerate((("a1", tiny_ner_model_dir), ("a3", model_b))):
        folder = tmp_path / f"round{round_}"
        folder.mkdir()
        (folder / f"{doc_id}.txt").write_text(ARTICLES[doc_id], encoding="utf-8")
        out = _cli(srv, project, "import", str(folder), "--predict", "--model", str(model))
        found = re.search(r"imported 1 tasks into 'versions', 1 with predictions from model (\S+)\n", out)
        assert found, out
        versions.append(found[1])
    version_a, version_b = versions
    assert version_a != version_b
    assert f"now shows predictions of model {version_b} (was: model {version_a})" in out
    ls, pid = _project(srv, project)
    assert ls.projects.get(id=pid).model_version == version_b
    tasks = {t.data["doc_id"]: t for t in ls.tasks.list(project=pid, fields="all")}
    assert [p.model_version for p in tasks["a3"].predictions] == [version_b]
    assert tasks["a3"].predictions_score is not None and tasks["a1"].predictions_score is None
    ls.annotations.create(id=tasks["a1"].id, result=[], was_cancelled=True)  # Label All Tasks goes on to a3
    served = _next_task(srv, pid)
    assert served["data"]["doc_id"] == "a3" and [p["model_version"] for p in served["predictions"]] == [version_b]
    # same model again: nothing to change; and an export that converts nothing fails
    (tmp_path / "round1" / "a2.txt").write_text(ARTICLES["a2"], encoding="utf-8")
    out = _cli(srv, project, "import", str(tmp_path / "round1"), "--predict", "--model", str(model_b))
    assert "skipped 1 articles already in the project" in out and f"shows predictions of model {version_b}" in out
    out = _cli(srv, project, "export", "-o", str(tmp_path / "none.jsonl"), code=1)
    assert "kept 0" in out and "no task converted" in out and not (tmp_path / "none.jsonl").exists()


def test_import_refuses_a_different_article_under_a_known_id(label_studio: LabelStudioServer, tmp_path: Path) -> None:
    srv, project = label_studio, "ids"
    _cli(srv, project, "setup")
    for name, text in (("2024", ARTICLES["a1"]), ("2025", ARTICLES["a2"]), ("copy", ARTICLES["a1"])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.txt").write_text(text, encoding="utf-8")
    assert "imported 1 tasks" in _cli(srv, project, "import", str(tmp_path / "2024"))
    out = _cli(srv, project, "import", str(tmp_path / "2025"), code=1)  # another x.txt: id x, other text
    assert "1 record id(s) are already in project 'ids' with a different text: x" in out
    out = _cli(srv, project, "import", str(tmp_path / "copy"))  # the same article again
    assert "skipped 1 articles already in the project" in out and "nothing new to import" in out
    out = _cli(srv, project, "import", str(tmp_path / "2024"), str(tmp_path / "2025"), code=1)  # in one run
    assert "id 'x'" in out and "hold different texts" in out
    ls, pid = _project(srv, project)
    assert [t.data["text"] for t in ls.tasks.list(project=pid)] == [ARTICLES["a1"]]
