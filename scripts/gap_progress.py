"""Two runs of ``scripts/full_gaps.py`` side by side: the mapping-dependent energy and gap per application and chip.

The mapping side of issue 15 lowers the energy, the bound side raises the bound; this
table shows what one change of the mapper did. The energy columns are the mapper's alone;
each gap is against its own run's bound, so where the bound's code changed between the
runs the gap columns move with it too.

    python scripts/gap_progress.py                      # writes scripts/results/gap_progress.md
    python scripts/gap_progress.py --before OLD.json --after NEW.json --out /tmp/progress.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from snnmap.instances.files import write_text

RESULTS = Path(__file__).resolve().parent / "results"
BEFORE = RESULTS / "full_gaps_before_grown_tiles.json"
AFTER = RESULTS / "full_gaps.json"


def dependent(row: dict[str, Any]) -> float:
    """The mapping-dependent energy of a row: comm + static."""
    return row["energy_terms"]["comm"] + row["energy_terms"]["static"]


def markdown_table(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> str:
    """One line per application and chip present in both runs."""
    old = {(r["application"], r["hardware"]): r for r in before}
    lines = ["| application | chip | comm+static before | comm+static after | change | gap (comm+static) before "
             "| gap (comm+static) after | hops per packet before / after | cores before / after |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in after:
        o = old.get((r["application"], r["hardware"]))
        if o is None:
            continue
        gaps = [("-" if x["gap_mapping"] is None else f"{x['gap_mapping'] * 100:.1f} %") for x in (o, r)]
        lines.append(f"| {r['application']} | {r['hardware']} | {dependent(o):.4g} J | {dependent(r):.4g} J "
                     f"| {(dependent(r) / dependent(o) - 1) * 100:+.1f} % | {gaps[0]} | {gaps[1]} "
                     f"| {o['hops_per_packet']:.2f} / {r['hops_per_packet']:.2f} "
                     f"| {o['cores_used']} / {r['cores_used']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, default=BEFORE, help="full_gaps.json of the earlier run")
    ap.add_argument("--after", type=Path, default=AFTER, help="full_gaps.json of the later run")
    ap.add_argument("--out", type=Path, default=RESULTS / "gap_progress.md")
    args = ap.parse_args(argv)
    try:
        before, after = (json.loads(p.read_text()) for p in (args.before, args.after))
    except (OSError, json.JSONDecodeError) as exc:
        raise SystemExit(f"gap_progress: cannot read a full_gaps.json ({exc}); run scripts/full_gaps.py first "
                         "or pass --before/--after") from None
    head = (f"# Mapping-dependent energy before and after (python scripts/gap_progress.py)\n\n"
            f"before: {args.before.name} ({before['created']}); after: {args.after.name} ({after['created']}); "
            f"partition-refine, seed 0, {after['time_limit']:g} s, shared 2-core machine under load.\n\n")
    write_text(args.out, head + markdown_table(before["rows"], after["rows"]) + "\n")


if __name__ == "__main__":
    main()
