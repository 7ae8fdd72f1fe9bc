"""How well a new narrative is learnt from a handful of passages, with and without the description prior.

Copies the label folder, adds the fixture narrative ``church_persecution`` (tests/fixtures/loop; description and three cues
written for this benchmark), keeps
only K of its training passages (the others of those sources are dropped), trains the baseline with the
prior (``few_shot_below=30``) and without it (``few_shot_below=0``), and reports the new narrative's F1
on its held-out (dev) passages plus the dev macro-F1 of the six original narratives.

    python benchmarks/few_shot.py --k 2 4 8 16
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DESCRIPTION = ("Montenegro's law on freedom of religion and the disputes over church property presented as "
               "persecution of Serbs and of the Serbian Orthodox Church: the state seizing monasteries and erasing "
               "Serbian identity, the government as a Western-steered anti-Serb regime, the church processions as "
               "a people's uprising.")
CUES = ("the regime wants to take the monasteries away from the Serbian church",
        "a law written to erase the Serbs of Montenegro",
        "the faithful walked in procession to defend their shrines")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--k", type=int, nargs="+", default=[2, 4, 8, 16])
    args = ap.parse_args()
    from narratives.model.taxonomy import add_narrative
    from narratives.train.importers import import_labels
    from narratives.train.trainer import train

    rows = []
    for k in args.k:
        for below in (30, 0):
            with tempfile.TemporaryDirectory() as tmp:
                labels = Path(tmp) / "labels"
                shutil.copytree(ROOT / "data" / "labels", labels)
                add_narrative(labels / "taxonomy.yaml", "church_persecution", "Church law as persecution of Serbs",
                              DESCRIPTION, cues=CUES)
                import_labels(ROOT / "tests" / "fixtures" / "loop" / "label_studio_export.json", labels, name="loop")
                f = labels / "loop.jsonl"
                recs = [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines()]
                pos = [r for r in recs if r["split"] == "train" and "church_persecution" in r["narratives"]]
                drop = {r["id"] for r in pos[k:]}
                f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs if r["id"] not in drop),
                             encoding="utf-8")
                res = train(labels=labels, out=Path(tmp) / "m", few_shot_below=below, log=open(os.devnull, "w"))
                dev = res["metrics"]["splits"]["dev"]
                cp = dev["per_narrative"]["church_persecution"]
                old = [v["f1"] for n, v in dev["per_narrative"].items() if n != "church_persecution"]
                rows.append((k, "prior" if below else "no prior", cp["precision"], cp["recall"], cp["f1"], cp["support"],
                             sum(old) / len(old)))
                print(*rows[-1], flush=True)
    print("\n| labelled passages (train) | prior | P | R | F1 (dev) | dev passages | dev macro-F1, other six |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]:.3f} | {r[3]:.3f} | {r[4]:.3f} | {r[5]} | {r[6]:.3f} |")


if __name__ == "__main__":
    main()
