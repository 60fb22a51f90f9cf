"""The Label Studio labeling config, generated from zhie.annotation.labels.

A label added to ENTITY_LABELS or RELATION_TYPES appears here (and in conversion, training and
inference) with no edit in this module.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

from zhie.annotation.labels import ENTITY_LABELS, RELATION_LABELS

FROM_NAME = "label"  # the <Labels> control
TO_NAME = "text"  # the <Text> object
TEXT_KEY = "text"  # task data key holding the article
GUIDE_PATH = "docs/annotation-guide.md"  # the labels' definition, shown to annotators above the text
_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f")


def label_config(entity_labels: tuple[str, ...] = ENTITY_LABELS,
                 relation_labels: tuple[str, ...] = RELATION_LABELS) -> str:
    """Text with one span label per entity label and one relation label per relation type.

    granularity="symbol" because Chinese has no word boundaries for Label Studio to snap to.
    The header sends annotators to the guide, so the labels are applied as the data was made.
    """
    rels = "\n".join(f"    <Relation value={quoteattr(r)}/>" for r in relation_labels)
    labs = "\n".join(f"    <Label value={quoteattr(lab)} background={quoteattr(_PALETTE[i % len(_PALETTE)])}/>"
                     for i, lab in enumerate(entity_labels))
    guide = quoteattr(f"Annotate to the zh-invest-ie guide, {GUIDE_PATH}: entities {', '.join(entity_labels)}; "
                      f"relations from the PROJECT: {', '.join(relation_labels)}.")
    return (f'<View>\n  <Header value={guide} size="6"/>\n  <Relations>\n{rels}\n  </Relations>\n'
            f'  <Labels name="{FROM_NAME}" toName="{TO_NAME}">\n{labs}\n  </Labels>\n'
            f'  <Text name="{TO_NAME}" value="${TEXT_KEY}" granularity="symbol"/>\n</View>\n')


def config_problems(config: str) -> list[str]:
    """What keeps `config` from carrying our records; empty when it is usable.

    A project created by hand, or before a label was added, is caught here instead of producing
    predictions Label Studio cannot show or exports we cannot read.
    """
    try:
        root = ET.fromstring(config)
    except ET.ParseError as exc:
        return [f"labeling config is not valid XML: {exc}"]
    problems = []
    texts = [t for t in root.iter("Text") if t.get("name") == TO_NAME]
    if not texts or texts[0].get("value") != f"${TEXT_KEY}":
        problems.append(f'no <Text name="{TO_NAME}" value="${TEXT_KEY}">')
    labels = [x for x in root.iter("Labels") if x.get("name") == FROM_NAME and x.get("toName") == TO_NAME]
    have = {lab.get("value") for x in labels for lab in x.iter("Label")}
    if not labels:
        problems.append(f'no <Labels name="{FROM_NAME}" toName="{TO_NAME}">')
    elif missing := [lab for lab in ENTITY_LABELS if lab not in have]:
        problems.append(f"entity labels missing: {', '.join(missing)}")
    rels = {r.get("value") for r in root.iter("Relation")}
    if missing := [r for r in RELATION_LABELS if r not in rels]:
        problems.append(f"relation labels missing: {', '.join(missing)}")
    return problems
