"""docs/annotation-guide.md ships with the product: it must cover every label, and stay in step with
the team's shared guide (checked only where ../shared is present; a clone has no such folder)."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from zhie.annotation.labels import ENTITY_LABELS, RELATION_LABELS
from zhie.annotation.labelstudio.config import GUIDE_PATH, label_config
from zhie.annotation.records import Document

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "annotation-guide.md"
UPSTREAM = ROOT.parent / "shared" / "ANNOTATION_GUIDE.md"
CJK = re.compile(r"[\u4e00-\u9fff]")


def guide_text() -> str:
    return GUIDE.read_text(encoding="utf-8")


def upstream_text() -> str:
    if not UPSTREAM.exists():
        pytest.skip(f"{UPSTREAM} not present (only the team's machines have ../shared)")
    return UPSTREAM.read_text(encoding="utf-8")


def headings(md: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"^#{2,4} (.+)$", md, re.M)]


def upstream_bullets(md: str) -> list[tuple[str, str]]:
    """(section, bullet text) for every bullet of the shared guide, continuation lines joined."""
    out: list[list[str]] = []
    section, in_bullet = "", False
    for line in md.splitlines():
        if line.startswith("- "):
            out.append([section, line[2:]])
            in_bullet = True
        elif in_bullet and line.startswith("  ") and line.strip():
            out[-1][1] += " " + line.strip()
        else:
            in_bullet = False
            if line.startswith("## "):
                section = line[3:].strip()
    return [(s, b) for s, b in out]


def cited_examples(bullet: str) -> set[str]:
    """The Chinese examples a bullet cites in brackets (one level of nested brackets allowed)."""
    found = set()
    for inner in re.findall(r"[（(]((?:[^（）()]|[（(][^（）()]*[）)])*)[）)]", bullet):
        for part in re.split(r"[,，;；/→+]|\s", inner):
            part = part.strip().strip("“”\"")
            if len(part) >= 2 and CJK.search(part):
                found.add(part)
    return found


def upstream_groups(md: str) -> list[str]:
    """Plain-text group lines (e.g. 'Projects') inside the shared guide's decided-cases section."""
    body = md.split("## Open cases, decided", 1)[1].split("\n## ", 1)[0]
    return [ln.strip() for ln in body.splitlines() if ln.strip() and not ln.startswith(("-", " "))]


def mapping_table(md: str) -> dict[str, str]:
    section = md.split("## Keeping in step with the upstream guide", 1)[1]
    rows = re.findall(r"^\| (.+?) \| (.+?) \|$", section, re.M)
    return {a: b for a, b in rows if not set(a) <= {"-"} and a != "upstream heading"}


# ---------------------------------------------------------------- the repo's own guide

@pytest.mark.parametrize("label", [*ENTITY_LABELS, *RELATION_LABELS])
def test_every_label_has_a_section(label: str) -> None:
    assert any(re.match(rf"`?{re.escape(label)}`?\b", h) for h in headings(guide_text())), \
        f"docs/annotation-guide.md has no section heading starting with {label}"


def test_record_example_is_a_valid_record() -> None:
    block = re.search(r"## Record format.*?```json\n(.*?)```", guide_text(), re.S)
    assert block, "no JSON example under ## Record format"
    doc = Document.model_validate(json.loads(block.group(1)))
    assert {e.label for e in doc.entities} == set(ENTITY_LABELS)
    assert {r.label for r in doc.relations} == set(RELATION_LABELS)


def test_mapping_table_points_at_existing_sections() -> None:
    ours = set(headings(guide_text()))
    for upstream, covered_by in mapping_table(guide_text()).items():
        for name in re.split(r";\s*", covered_by):
            if name.startswith("the "):  # prose pointer, e.g. "the Decided cases lists under each label"
                continue
            assert any(h == name or h.startswith(name + " ") for h in ours), \
                f"mapping row {upstream!r}: no section {name!r} in docs/annotation-guide.md"


def test_label_studio_config_points_to_the_guide() -> None:
    assert (ROOT / GUIDE_PATH).exists()
    assert GUIDE_PATH in label_config()


# ---------------------------------------------------------------- in step with ../shared

def test_every_upstream_heading_and_group_is_mapped() -> None:
    md = upstream_text()
    mapped = mapping_table(guide_text())
    wanted = [h for h in headings(md) if h != md.splitlines()[0].lstrip("# ")] + upstream_groups(md)
    missing = [h for h in wanted if h not in mapped]
    assert not missing, f"shared guide headings not mapped in docs/annotation-guide.md: {missing}"


def test_every_upstream_decided_example_appears() -> None:
    ours = guide_text()
    missing = {ex: section for section, bullet in upstream_bullets(upstream_text())
               for ex in cited_examples(bullet) if ex not in ours}
    assert not missing, f"examples of the shared guide's decided cases missing here: {missing}"


def test_upstream_unchanged_since_last_sync() -> None:
    digest = hashlib.sha256(upstream_text().encode("utf-8")).hexdigest()[:16]
    recorded = re.search(r"Upstream fingerprint[^`]*`([0-9a-f]{16})`", guide_text())
    assert recorded, "docs/annotation-guide.md records no upstream fingerprint"
    assert recorded.group(1) == digest, (
        "../shared/ANNOTATION_GUIDE.md changed since docs/annotation-guide.md was last synced: "
        f"review the change, update the guide, then record fingerprint {digest}")
