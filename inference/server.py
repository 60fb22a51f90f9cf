"""The HTTP service behind `zhie serve`: the predict API as JSON, a page for people, the Label Studio backend.

- POST /v1/extract  {"text"} or {"texts"} (+ pub_date / pub_dates, id / ids) -> the records the
  Python API returns (`Document.model_dump(exclude_none=True)`), with the model version.
- GET  /health      status, model version, label set and limits (no token needed: for probes).
- GET  /            a page: paste an article, see entities by label and the project table.
- /ls/...           the Label Studio ML backend (zhie.inference.ls_backend), same model.
- /docs, /openapi.json  FastAPI's generated documentation.

The model is loaded once by the caller and shared; one request at a time runs it (a lock): one
forward pass already uses every core (torch's intra-op threads), so overlapping calls would only
add contention and memory, and a fast tokenizer shared by threads can fail with "Already borrowed".
Requests wait in FastAPI's thread pool while /health (async) stays responsive.
"""
from __future__ import annotations

import datetime as dt
import secrets
import threading
from base64 import b64decode
from binascii import Error as Base64Error
from collections.abc import Sequence
from importlib.resources import files
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from zhie.annotation.labels import ENTITY_LABELS
from zhie.annotation.records import Document, unicode_problem
from zhie.inference.extractor import Predictor
from zhie.inference.ls_backend import create_router

DEFAULT_MAX_CHARS = 100_000  # a long news article is under 20,000 characters
DEFAULT_MAX_TEXTS = 64
# JSON may escape every character as \uXXXX (12 bytes for a character outside the BMP)
_BYTES_PER_CHAR = 12
_BODY_SLACK = 64 * 1024


class ExtractRequest(BaseModel):
    """One article (`text`) or a batch (`texts`); dates and ids are optional."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"text": "2025年3月12日，青川县新能源装备产业园项目签约，总投资18.5亿元。", "pub_date": "2025-03-12"},
                     {"texts": ["11月8日上午，欧林生物重庆研究院项目落户沙坪坝，总投资约6亿元。",
                                "郑州市污水处理厂工程开工，计划投资5500万元。"],
                      "pub_dates": ["2024-11-10", None], "ids": ["a1", "a2"]}]})

    text: str | None = Field(default=None, description="one article")
    texts: list[str] | None = Field(default=None, description="several articles, predicted as one batch")
    pub_date: dt.date | None = Field(default=None, description="publication date (YYYY-MM-DD) of `text`, "
                                                               "or of every article in `texts`")
    pub_dates: list[dt.date | None] | None = Field(default=None, description="one publication date per article in `texts`")
    id: str | None = Field(default=None, min_length=1, description="record id for `text` (default doc-1)")
    ids: list[str] | None = Field(default=None, description="one record id per article in `texts` (default doc-1, doc-2, ...)")

    @field_validator("text")
    @classmethod
    def _text_unicode(cls, v: str | None) -> str | None:
        if v is not None and (problem := unicode_problem(v)):
            raise ValueError(problem)
        return v

    @field_validator("texts")
    @classmethod
    def _texts_unicode(cls, v: list[str] | None) -> list[str] | None:
        for i, t in enumerate(v or []):
            if problem := unicode_problem(t):
                raise ValueError(f"texts[{i}]: {problem}")
        return v

    @field_validator("ids")
    @classmethod
    def _ids_non_empty(cls, v: list[str] | None) -> list[str] | None:
        for i, rid in enumerate(v or []):
            if not rid:
                raise ValueError(f"ids[{i}] is empty")
        return v

    @model_validator(mode="after")
    def _one_shape(self) -> "ExtractRequest":
        if (self.text is None) == (self.texts is None):
            raise ValueError('send exactly one of "text" (one article) or "texts" (a list of articles)')
        if self.text is not None and (self.pub_dates is not None or self.ids is not None):
            raise ValueError('"pub_dates" and "ids" go with "texts"; with "text" use "pub_date" and "id"')
        if self.texts is not None:
            if self.id is not None:
                raise ValueError('"id" goes with "text"; with "texts" use "ids"')
            if self.pub_date is not None and self.pub_dates is not None:
                raise ValueError('send "pub_date" (one date for all texts) or "pub_dates", not both')
            for name in ("pub_dates", "ids"):
                seq = getattr(self, name)
                if seq is not None and len(seq) != len(self.texts):
                    raise ValueError(f'{len(seq)} {name} for {len(self.texts)} texts')
        return self

    def documents(self) -> list[Document]:
        """The request as input records (ids doc-1, doc-2, ... when not given), as the Python API builds them."""
        texts = [self.text] if self.text is not None else self.texts or []
        dates = self.pub_dates or [self.pub_date] * len(texts)
        ids = self.ids or ([self.id] if self.id else [None] * len(texts))
        return [Document(id=rid or f"doc-{i + 1}", text=t, **({"pub_date": d.isoformat()} if d else {}))
                for i, (t, d, rid) in enumerate(zip(texts, dates, ids, strict=True))]


class ExtractResponse(BaseModel):
    model_version: str
    records: list[Document] = Field(description="one record per input text, in input order")


class _OneAtATime:
    """The predictor behind a lock: concurrent requests take turns on the one loaded model."""

    def __init__(self, predictor: Predictor) -> None:
        self._predictor = predictor
        self._lock = threading.Lock()
        self.model_version = predictor.model_version

    def predict_documents(self, docs: Sequence[Document]) -> list[Document]:
        with self._lock:
            return self._predictor.predict_documents(docs)


class _BodyCheck:
    """ASGI middleware: refuse bodies over `limit` bytes (413) before they fill memory, and bodies
    that are not UTF-8 (400, with the byte offset), which JSON over HTTP must be."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await self._refuse(scope, receive, send, 413, f"request body over {self.limit} bytes; "
                                                                  "send fewer or shorter texts")
        body, more = bytearray(), True
        while more:  # read it all here (bounded), then hand it on
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
            if len(body) > self.limit:
                return await self._refuse(scope, receive, send, 413, f"request body over {self.limit} bytes; "
                                                                      "send fewer or shorter texts")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            return await self._refuse(scope, receive, send, 400, f"request body is not UTF-8: {exc.reason} "
                                                                  f"at byte {exc.start}")
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope, receive, send, status: int, msg: str) -> None:
        await JSONResponse({"detail": msg}, status_code=status)(scope, receive, send)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming each bad field, without FastAPI's echo of the input (a megabyte of text, or a
    string that cannot even be encoded back)."""
    detail = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        reason = (err.get("ctx") or {}).get("error")
        if isinstance(reason, str) and reason and reason not in msg:
            msg += f": {reason}"
        detail.append({"loc": list(err["loc"]), "msg": msg, "type": err["type"]})
    return JSONResponse({"detail": detail}, status_code=422)


def _basic_password(header: str) -> str | None:
    """The password of an HTTP Basic `Authorization` header (Label Studio's backend auth), or None."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return b64decode(value, validate=True).decode("utf-8").partition(":")[2]
    except (Base64Error, UnicodeDecodeError):
        return None


def create_app(predictor: Predictor, *, api_token: str | None = None, max_chars: int = DEFAULT_MAX_CHARS,
               max_texts: int = DEFAULT_MAX_TEXTS) -> FastAPI:
    """The service for one loaded predictor (an Extractor, or a stand-in with the same methods).

    api_token: when set, /v1 and /ls need `Authorization: Bearer <token>` (or HTTP Basic with the
    token as password, which is what Label Studio can send); /health, / and the docs stay open.
    """
    model = _OneAtATime(predictor)
    page = (files("zhie.inference") / "static" / "index.html").read_text(encoding="utf-8")
    bearer = HTTPBearer(auto_error=False, description="the server's ZHIE_API_TOKEN (only when it is set)")

    def check_token(request: Request, cred: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if api_token is None:
            return
        given = cred.credentials if cred else _basic_password(request.headers.get("authorization", ""))
        if given is None or not secrets.compare_digest(given.encode("utf-8"), api_token.encode("utf-8")):
            raise HTTPException(401, "missing or wrong API token: send the header 'Authorization: Bearer <token>'",
                                headers={"WWW-Authenticate": "Bearer"})

    app = FastAPI(title="zhie: information extraction from Chinese investment news",
                  description="Entities (ORG, MONEY, DATE, LOC, PROJECT) with normalised values, "
                              "project relations and a project table for each article.")
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(_BodyCheck, limit=_BYTES_PER_CHAR * max_chars * max_texts + _BODY_SLACK)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> str:
        return page

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model_version": model.model_version, "labels": list(ENTITY_LABELS),
                "limits": {"max_chars": max_chars, "max_texts": max_texts}, "token_required": api_token is not None}

    @app.post("/v1/extract", response_model=ExtractResponse, dependencies=[Depends(check_token)],
              responses={401: {"description": "missing or wrong token"},
                         413: {"description": "a text, the batch or the body is over the limit"},
                         422: {"description": "malformed request (the message names the field)"}})
    def extract(req: ExtractRequest) -> JSONResponse:
        """Extract entities, values, relations and projects from one article or a batch."""
        docs = req.documents()
        if len(docs) > max_texts:
            raise HTTPException(413, f"{len(docs)} texts in one request; the limit is {max_texts}: send smaller batches")
        for i, d in enumerate(docs):
            if len(d.text) > max_chars:
                where = "text" if req.text is not None else f"texts[{i}]"
                raise HTTPException(413, f"{where} has {len(d.text)} characters; the limit is {max_chars}: "
                                         "split the article")
        records = model.predict_documents(docs)
        return JSONResponse({"model_version": model.model_version,
                             "records": [r.model_dump(mode="json", exclude_none=True) for r in records]})

    app.include_router(create_router(model), prefix="/ls", dependencies=[Depends(check_token)])
    return app
