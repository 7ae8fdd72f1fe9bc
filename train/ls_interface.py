"""The Label Studio labelling interface (``data/labels/label_studio.xml``) kept in step with the taxonomy:
``narratives labels add-narrative`` adds the new id to both the narrative choices and the span labels,
and ``narratives labels check`` reports an interface that lacks a narrative or offers an unknown one.

>>> xml = '<View><Choices name="narratives" toName="text"><Choice value="a"/></Choices></View>'
>>> narrative_values(xml)
(['a'], [])
>>> narrative_values(add_narrative_xml(xml, "b"))
(['a', 'b'], [])
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from narratives.model.taxonomy import STANCES

INTERFACE = "label_studio.xml"


def narrative_values(xml: str) -> tuple[list[str], list[str]]:
    """The values of the ``narratives`` choices and the narrative span labels (stances left out)."""
    root = ET.fromstring(xml)
    choices = [c.get("value", "") for ch in root.iter("Choices") if ch.get("name") == "narratives"
               for c in ch.iter("Choice")]
    labels = [lab.get("value", "") for block in root.iter("Labels") for lab in block.iter("Label")
              if lab.get("value") not in STANCES]
    return choices, labels


def add_narrative_xml(xml: str, narrative_id: str) -> str:
    """``xml`` with ``narrative_id`` added after the last narrative choice and the last narrative span
    label (the text around them, comments included, unchanged)."""
    choices, labels = narrative_values(xml)
    if narrative_id not in choices:
        block = re.search(r'<Choices\b[^>]*\bname="narratives"[^>]*>(.*?)</Choices>', xml, re.S)
        if block is None:
            raise ValueError('no <Choices name="narratives"> block')
        last = list(re.finditer(r'([ \t]*)<Choice\b[^>]*/>', block.group(1)))
        indent = last[-1].group(1) if last else "    "
        at = block.start(1) + (last[-1].end() if last else 0)
        xml = xml[:at] + f'\n{indent}<Choice value="{narrative_id}"/>' + xml[at:]
    if labels and narrative_id not in labels:
        last_label = [m for m in re.finditer(r'([ \t]*)<Label\b[^>]*\bvalue="([^"]*)"[^>]*/>', xml)
                      if m.group(2) not in STANCES][-1]
        at = last_label.end()
        xml = xml[:at] + f'\n{last_label.group(1)}<Label value="{narrative_id}"/>' + xml[at:]
    return xml


def add_to_interface(folder: Path, narrative_id: str) -> bool:
    """Add a narrative to the folder's interface file, atomically; ``False`` when there is none."""
    from narratives.model.artifact import atomic_write_text

    f = folder / INTERFACE
    if not f.exists():
        return False
    text = f.read_text(encoding="utf-8")
    new = add_narrative_xml(text, narrative_id)
    if new != text:
        atomic_write_text(f, new)
    return True


def interface_problems(folder: Path, ids: list[str]) -> list[tuple[str, str]]:
    """Differences between the interface's narrative choices (and span labels) and the taxonomy's ids."""
    f = folder / INTERFACE
    if not f.exists():
        return []
    try:
        choices, labels = narrative_values(f.read_text(encoding="utf-8"))
    except (ET.ParseError, UnicodeDecodeError) as exc:
        return [(str(f), f"not readable XML: {exc}")]
    out = []
    for what, values in (("narrative choices", choices), ("span labels", labels)):
        if what == "span labels" and not values:
            continue
        missing, unknown = [i for i in ids if i not in values], [v for v in values if v not in ids]
        if missing:
            out.append((str(f), f"{what} lack {', '.join(missing)} (in taxonomy.yaml); add "
                                "them or use `narratives labels add-narrative`, which updates both"))
        if unknown:
            out.append((str(f), f"{what} offer {', '.join(unknown)}, not in taxonomy.yaml"))
    return out
