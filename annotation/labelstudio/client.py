"""A thin wrapper over label-studio-sdk 2.x: set up a project, import tasks, pull the full JSON export.

Every SDK or network error leaves as LabelStudioError with the URL and API key masked, so neither
reaches output or logs; the original exception is not chained (its text can hold the URL).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import httpx
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError
from label_studio_sdk.types.import_api_request import ImportApiRequest

from zhie.annotation.labelstudio.config import TEXT_KEY
from zhie.annotation.labelstudio.convert import DOC_ID_KEY
from zhie.annotation.labelstudio.errors import LabelStudioError


class Studio:
    """One Label Studio server, addressed by URL and API key (legacy token or personal access token)."""

    def __init__(self, url: str, api_key: str, timeout: float = 300.0) -> None:
        if not url or not api_key:
            raise LabelStudioError("the Label Studio URL and API key are both required "
                                   "(--url/--api-key or LABEL_STUDIO_URL/LABEL_STUDIO_API_KEY)")
        self._secrets = tuple(s for s in (url.rstrip("/"), api_key) if s)
        self._ls = LabelStudio(base_url=url.rstrip("/"), api_key=api_key, timeout=timeout)

    def _mask(self, text: str) -> str:
        for s in self._secrets:
            text = text.replace(s, "***")
        return text

    @contextmanager
    def _calls(self, what: str) -> Iterator[None]:
        try:
            yield
        except ApiError as exc:
            body = exc.body if isinstance(exc.body, str) else json.dumps(exc.body, ensure_ascii=False, default=str)
            msg = f"{what}: Label Studio answered HTTP {exc.status_code}: {body[:500]}"
            raise LabelStudioError(self._mask(msg)) from None
        except httpx.HTTPError as exc:
            msg = f"{what}: cannot reach Label Studio ({type(exc).__name__}: {exc})"
            raise LabelStudioError(self._mask(msg)) from None

    def find_project(self, title: str) -> int | None:
        with self._calls(f"looking up project {title!r}"):
            projects: Iterable[Any] = self._ls.projects.list(title=title)
            ids: list[int] = [p.id for p in projects if p.title == title and p.id]
        if len(ids) > 1:
            raise LabelStudioError(f"{len(ids)} projects are titled {title!r} (ids {ids}); rename all but one")
        return ids[0] if ids else None

    def project_id(self, title: str) -> int:
        pid = self.find_project(title)
        if pid is None:
            raise LabelStudioError(f"no project titled {title!r}; run `zhie annotate setup` first")
        return pid

    def setup_project(self, title: str, config: str) -> tuple[int, str]:
        """Create the project, or bring its labeling config up to date; returns (id, what was done)."""
        pid = self.find_project(title)
        with self._calls(f"setting up project {title!r}"):
            if pid is None:
                project = self._ls.projects.create(title=title, label_config=config)
                assert project.id is not None
                return project.id, "created"
            if (self._ls.projects.get(id=pid).label_config or "").strip() == config.strip():
                return pid, "unchanged"
            self._ls.projects.update(id=pid, label_config=config)
            return pid, "updated"

    def label_config(self, project_id: int) -> str:
        with self._calls(f"reading project {project_id}"):
            return self._ls.projects.get(id=project_id).label_config or ""

    def _backend_id(self, project_id: int, url: str) -> int | None:
        with self._calls("listing ML backends"):
            return next((ml.id for ml in self._ls.ml.list(project=project_id)
                         if (ml.url or "").rstrip("/") == url.rstrip("/")), None)

    def connect_backend(self, project_id: int, url: str, title: str) -> tuple[int, str]:
        """Attach an ML backend and make it the project's source of suggestions; returns (id, what happened).

        Success is what Label Studio reports after checking /health and /setup again, not the answer
        to the create call: that call answers 403 when Label Studio refuses to register the backend's
        /webhook (its SSRF protection blocks local webhook addresses) although the backend itself was
        created and connects. The webhook only carries events we acknowledge, so it is not needed.
        A backend that is not connected raises LabelStudioError.
        """
        what = "already connected"
        if (ml_id := self._backend_id(project_id, url)) is None:
            what = "connected"
            try:
                with self._calls(f"connecting the ML backend at {url}"):
                    ml_id = self._ls.ml.create(project=project_id, url=url, title=title, is_interactive=True,
                                               auto_update=True).id
            except LabelStudioError as exc:
                if (ml_id := self._backend_id(project_id, url)) is None:
                    hint = (" (Label Studio refuses ML backends on local addresses unless it was started with "
                            "ML_BLOCK_LOCAL_IP=false)" if "HTTP 403" in str(exc) else "")
                    raise LabelStudioError(f"{exc}{hint}") from None
        assert ml_id is not None
        with self._calls("reading the ML backend"):
            ml = self._ls.ml.get(id=ml_id)  # Label Studio calls /health and /setup again here
        state = f"{ml.readable_state or ml.state}" + (f": {ml.error_message}" if ml.error_message else "")
        if ml.state not in ("CO", "TR", "PR"):  # connected, training, predicting
            raise LabelStudioError(f"ML backend {ml_id} at {url} is not connected (state {state}); "
                                   "is `zhie annotate backend` running there?")
        # Label Studio serves only the project's model version; a backend's title selects live suggestions
        self._set_model_version(project_id, ml.title or title)
        return ml_id, f"{what} (model {ml.model_version}); Label Studio now asks it for suggestions"

    def _set_model_version(self, project_id: int, version: str) -> None:
        with self._calls(f"setting the model version of project {project_id}"):
            self._ls.projects.update(id=project_id, model_version=version)

    def show_predictions(self, project_id: int, version: str) -> str:
        """Make Label Studio serve predictions of model `version`; returns what was done, to report.

        Label Studio shows (in *Label All Tasks*, as the prediction score) only predictions whose
        model_version is the project's `model_version`, and sets that only on the first import.
        A project whose model version names a live ML backend already running `version` is left
        alone: the backend serves the imported predictions and makes new ones for older tasks.
        """
        with self._calls(f"reading project {project_id}"):
            current = self._ls.projects.get(id=project_id).model_version or ""
            live = next((ml for ml in self._ls.ml.list(project=project_id) if current and ml.title == current), None)
        if current == version:
            return f"Label Studio shows predictions of model {version}"
        if live is not None and live.model_version == version:
            return f"Label Studio shows predictions of model {version}, from ML backend {current!r}"
        self._set_model_version(project_id, version)
        was = f"live ML backend {current!r}" if live is not None else (f"model {current}" if current else "none")
        return (f"Label Studio now shows predictions of model {version} (was: {was}); "
                "tasks imported with other models keep theirs, hidden")

    def doc_texts(self, project_id: int) -> dict[str, object]:
        """Text of each record id already in the project, so a second import of the same folder adds
        nothing and a different article under a known id is caught."""
        with self._calls(f"listing tasks of project {project_id}"):
            tasks: Iterable[Any] = self._ls.tasks.list(project=project_id, fields="task_only", page_size=500)
            return {t.data[DOC_ID_KEY]: t.data.get(TEXT_KEY) for t in tasks
                    if isinstance(t.data, dict) and isinstance(t.data.get(DOC_ID_KEY), str)}

    def import_tasks(self, project_id: int, tasks: Sequence[dict[str, Any]], batch_size: int = 500) -> int:
        with self._calls(f"importing into project {project_id}"):
            done = 0
            for i in range(0, len(tasks), batch_size):
                batch = cast(list[ImportApiRequest], list(tasks[i:i + batch_size]))  # the SDK accepts plain dicts
                resp = self._ls.projects.import_tasks(id=project_id, request=batch, return_task_ids=True)
                done += resp.task_count if resp.task_count is not None else len(batch)
            return done

    def export_tasks(self, project_id: int) -> list[dict[str, Any]]:
        """The full JSON export of every task (JSON_MIN would drop relations; unannotated tasks are
        included so that the conversion report counts them)."""
        with self._calls(f"exporting project {project_id}"):
            raw = b"".join(self._ls.projects.exports.download_sync(
                id=project_id, export_type="JSON", download_all_tasks=True))
        tasks = json.loads(raw)
        if not isinstance(tasks, list):
            raise LabelStudioError(f"project {project_id}: the export is not a list of tasks")
        return tasks
