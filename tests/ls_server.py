"""Start and stop a throw-away Label Studio server on 127.0.0.1 for the integration tests.

The server gets its own data dir and a fixed legacy token, so tests need no UI login, and it never
writes under ~/.local/share. `label-studio` is looked up next to the running Python first (the venv).
A fresh database costs about a minute of Django migrations on 2 cores; a restart from a migrated
copy takes ~12 s, so the first start snapshots its database into `template_dir` (the pytest
cache) and later starts copy it.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

TOKEN = "zhie-test-token-0123456789"
DB_NAME = "label_studio.sqlite3"


@dataclass
class LabelStudioServer:
    url: str
    api_key: str
    log: Path
    process: subprocess.Popen

    def stop(self) -> None:
        """Kill the server's whole process group (label-studio forks workers)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def label_studio_executable() -> str | None:
    beside = Path(sys.executable).with_name("label-studio")
    return str(beside) if beside.exists() else shutil.which("label-studio")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _snapshot(db: Path, dest: Path) -> None:
    """Copy a live SQLite database consistently (the backup API), then move it into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_suffix(".part")
    with closing(sqlite3.connect(db)) as src, closing(sqlite3.connect(part)) as dst:
        src.backup(dst)
    part.replace(dest)


def start_label_studio(data_dir: Path, template_dir: Path | None = None, timeout: float = 240.0,
                       block_local_ml: bool = False) -> LabelStudioServer:
    """Start label-studio and wait until /health/ answers; raise with the log tail if it does not.

    block_local_ml: keep Label Studio's default of refusing ML backends on local addresses.
    """
    exe = label_studio_executable()
    if exe is None:
        raise FileNotFoundError("label-studio is not installed")
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    template = template_dir / DB_NAME if template_dir is not None else None
    if template is not None and template.exists():
        shutil.copyfile(template, data_dir / DB_NAME)
    env = {
        **os.environ,
        "LABEL_STUDIO_USERNAME": "admin@example.com",
        "LABEL_STUDIO_PASSWORD": "zhie-test-password",
        "LABEL_STUDIO_USER_TOKEN": TOKEN,
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "COLLECT_ANALYTICS": "false",
        "LATEST_VERSION_CHECK": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        # the test ML backend listens on 127.0.0.1, which Label Studio blocks by default
        "ML_BLOCK_LOCAL_IP": str(block_local_ml).lower(),
    }
    for bare in ("USERNAME", "PASSWORD", "PORT", "HOST"):  # Label Studio reads these too
        env.pop(bare, None)
    log = data_dir / "label-studio.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [exe, "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(port),
             "--data-dir", str(data_dir), "--enable-legacy-api-token"],
            env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    server = LabelStudioServer(f"http://127.0.0.1:{port}", TOKEN, log, proc)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{server.url}/health/", timeout=2) as r:
                if r.status == 200:
                    if template is not None and not template.exists():
                        _snapshot(data_dir / DB_NAME, template)
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    server.stop()
    tail = log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"label-studio did not become healthy (exit code {proc.returncode}); log tail:\n{tail}")
