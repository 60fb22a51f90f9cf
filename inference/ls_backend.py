"""Our model as a Label Studio ML backend, on our own FastAPI app.

Implements the contract Label Studio 1.x calls (label_studio/ml/api_connector.py):
- GET  /health   -> {"status": "UP", "model_class", "model_version"}; Label Studio's connection check.
- POST /setup    -> {"model_version"}; called when the backend is connected or the project changes.
  Its body carries the project's labeling config (checked against ours) and Label Studio's host and
  an access token, which we neither need nor log.
- POST /predict  {"tasks": [...], "label_config", "params"} -> {"results": [one prediction per task]},
  each prediction {"result", "score", "model_version"} in the same shape `zhie annotate import
  --predict` writes (annotation.labelstudio.convert), so both paths show identical suggestions.
- POST /webhook  -> acknowledges annotation events; retraining is `zhie train`, not a side effect
  of a click in the UI.
- GET  /versions -> {"versions": [model_version]} for Label Studio's model-version picker.
The stale `label-studio-ml` package is not used. The routes are an `APIRouter`, so the HTTP
service can mount them beside its own API (`create_app` serves them alone).
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException
from pydantic import BaseModel, Field

from zhie.annotation.labelstudio.config import TEXT_KEY, config_problems
from zhie.annotation.labelstudio.convert import DOC_ID_KEY, document_to_prediction
from zhie.annotation.records import Document
from zhie.inference.extractor import Predictor


class PredictRequest(BaseModel):
    tasks: list[dict[str, Any]]
    project: str | None = None
    label_config: str | None = None
    params: dict[str, Any] | None = None


class SetupRequest(BaseModel):
    project: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    model_version: str | None = None


def _task_document(task: dict[str, Any]) -> Document:
    data = task.get("data")
    data = data if isinstance(data, dict) else {}
    text = data.get(TEXT_KEY)
    if not isinstance(text, str):
        raise HTTPException(422, f"task {task.get('id')}: data.{TEXT_KEY} is missing or not a string")
    extras = {"pub_date": data["pub_date"]} if isinstance(data.get("pub_date"), str) else {}
    return Document(id=str(data.get(DOC_ID_KEY) or f"ls-{task.get('id')}"), text=text, **extras)


def create_router(predictor: Predictor) -> APIRouter:
    """Label Studio's ML-backend routes for `predictor`, to mount at the URL Label Studio is given."""
    router = APIRouter(tags=["Label Studio ML backend"])

    @router.get("/health")
    def health() -> dict[str, str]:
        return {"status": "UP", "model_class": type(predictor).__name__, "model_version": predictor.model_version}

    @router.post("/setup")
    def setup(req: SetupRequest) -> dict[str, str]:
        if req.schema_ and (problems := config_problems(req.schema_)):
            raise HTTPException(422, "the project's labeling config does not fit this model: " + "; ".join(problems)
                                + " (run `zhie annotate setup`)")
        return {"model_version": predictor.model_version}

    @router.post("/predict")
    def predict(req: PredictRequest) -> dict[str, list[dict[str, Any]]]:
        if req.label_config and (problems := config_problems(req.label_config)):
            raise HTTPException(422, "the project's labeling config does not fit this model: " + "; ".join(problems))
        docs = [_task_document(t) for t in req.tasks]
        preds = predictor.predict_documents(docs)
        return {"results": [document_to_prediction(p, predictor.model_version) for p in preds]}

    @router.post("/webhook")
    def webhook(event: dict[str, Any]) -> dict[str, str]:
        return {"status": "ok", "action": str(event.get("action", ""))}

    @router.get("/versions")
    def versions() -> dict[str, list[str]]:
        return {"versions": [predictor.model_version]}

    return router


def create_app(predictor: Predictor) -> FastAPI:
    """The ML backend as a service of its own (`zhie annotate backend`)."""
    app = FastAPI(title="zhie Label Studio ML backend")
    app.include_router(create_router(predictor))
    return app
