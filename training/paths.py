"""Where the shared corpora live: ../shared/data beside the checkout, or $ZHIE_SHARED_DATA.

Standard library only, so the corpus builder can import it on a machine without our other deps.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ZHIE_SHARED_DATA", REPO.parent / "shared" / "data"))
