"""The real peers against partition-refine on the 10 full applications (issue 17, item 3).

Protocol: every application at full scale, seed 0, one chip and its limits shared by every method.
Applications that fit one Loihi (128 cores, with the gap study's 25 % spare) are mapped on ``loihi``;
AlexNet and VGG16, which do not, on ``loihi-board`` (2 x 2 Loihi chips, 512 cores, nominal
chip-to-chip hop; fan-in unrolled as on ``loihi``). Methods: ``partition-refine`` (``--time-limit``),
``nengo-loihi`` (``Greedy`` on one chip, where its four allocators coincide; all four on the board),
``pacman``, ``rig-sa`` (effort 1; rig has no time limit) and, for item 4, our re-implementations ``sequential``
(fill in neuron order) and ``sneap`` (annealed placement). The evaluator scores every answer: energy,
mapping-dependent energy (total minus :func:`~snnmap.formulations.energy.fixed_energy`), cores,
inter-chip packets (boards only) and wall time; with ``--simulate``, SANA-FE's own total of every
one-chip mapping (the bridge of ``snnmap simulate``: each neuron replays its spike count).
Rows go to ``--out`` (JSON lines, one per run, kept
between runs so a study can be resumed by application) and the table to ``--out`` with ``.md``.

    python scripts/peers_table.py                       # all 10, about 20-40 min on 2 shared cores
    python scripts/peers_table.py --apps LeNet HeartEstm --time-limit 10
    python scripts/peers_table.py --apps HeartClass HeartEstm --simulate   # SANA-FE's totals beside ours
    python scripts/peers_table.py --apps                 # only render the table from the rows (give --time-limit)
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from snnmap.formulations.bounds import precheck
from snnmap.formulations.energy import fixed_energy
from snnmap.hardware import load_hardware
from snnmap.instances.apps import APPS
from snnmap.instances.files import write_text
from snnmap.prepare import hardware_label, instance_of, prepared
from snnmap.registry import METHODS
from snnmap.sanafe_bridge import replay

OURS = ["partition-refine", "sequential", "sneap"]


def instance(app: str):
    """The application on one Loihi when it fits with the gap study's slack, else on the 2 x 2 board."""
    net, hw = prepared(app, "full", "loihi")
    if hw.num_cores <= load_hardware("loihi").num_cores and not precheck(net, hw):
        return net, hw
    board = load_hardware("loihi-board")
    return instance_of(app, "full", board), board


def runs(hw):
    """(method, options) pairs run on ``hw``."""
    allocators = ["Greedy"] if hw.num_chips == 1 else ["Greedy", "RoundRobin", "GreedyInterchip", "PartitionInterchip"]
    out = [(m, {}) for m in OURS]
    out += [("nengo-loihi", {"allocator": a}) for a in allocators]
    out += [("pacman", {}), ("rig-sa", {})]
    return out


def row(app, net, hw, method, options, time_limit, simulate=False):
    label = method + (f" {options['allocator']}" if "allocator" in options else "")
    kwargs = dict(options, seed=0)
    if method in OURS:
        kwargs["time_limit"] = time_limit
    t0 = time.perf_counter()
    try:
        res = METHODS[method](net, hw, **kwargs)
    except ValueError as exc:  # a peer that cannot take this chip says so in one line
        return {"app": app, "hardware": hardware_label(hw), "method": label, "status": "refused",
                "message": str(exc), "seconds": time.perf_counter() - t0}
    rep = res.report
    feasible = rep is not None and rep.feasible
    return {
        "app": app, "hardware": hardware_label(hw), "method": label, "status": str(res.status),
        "energy": rep.total if rep is not None else None,
        "mapping_energy": rep.total - fixed_energy(net, hw) if rep is not None else None,
        "cores": rep.cores_used if rep is not None else None,
        "interchip_packets": rep.interchip_packets if rep is not None else None,
        "feasible": feasible, "violations": [str(v) for v in rep.violations] if rep is not None else [],
        "seconds": time.perf_counter() - t0, "message": res.message,
        # SANA-FE's own total for the same mapping (one Loihi chip only: SANA-FE has no boards).
        "sanafe_energy": (replay(net, hw, res.mapping, net.steps).energy["total"]
                          if simulate and feasible and hw.num_chips == 1 else None),
    }


def fmt(v, spec):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def table(rows: list[dict], time_limit: float, out: Path) -> str:
    lines = [f"# python scripts/peers_table.py --time-limit {time_limit:g} (rows: {out.name})",
             "# 2-core machine shared with three other jobs: times are under load; seed 0.", "",
             "| application | chip | method | status | energy (J) | SANA-FE (J) | mapping-dep. (J) | cores "
             "| inter-chip packets | time (s) | mapping-dep. vs partition-refine |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    best = {(r["app"]): r["mapping_energy"] for r in rows if r["method"] == "partition-refine" and r.get("feasible")}
    for r in rows:
        ref = best.get(r["app"])
        rel = "-"
        if ref and r.get("feasible") and r["method"] != "partition-refine":
            change = 100 * (r["mapping_energy"] - ref) / ref
            rel = f"{change:+.1f} %" + (" **partition-refine loses**" if change < -1e-7 else "")
        status = r["status"]
        if status == "refused":
            status += f": {r['message']}"
        elif not r.get("feasible", True):  # the limit it breaks, without the list of cores
            status = "infeasible: " + (r["violations"][0].split(" (")[0] if r["violations"] else r["message"])
        lines.append(f"| {r['app']} | {r['hardware']} | {r['method']} | {status} "
                     f"| {fmt(r.get('energy'), '.5g')} | {fmt(r.get('sanafe_energy'), '.5g')} "
                     f"| {fmt(r.get('mapping_energy'), '.5g')} | {fmt(r.get('cores'), 'd')} "
                     f"| {fmt(r.get('interchip_packets'), '.0f')} | {r['seconds']:.1f} | {rel} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--apps", nargs="*", default=list(APPS))
    ap.add_argument("--time-limit", type=float, default=40.0, help="partition-refine's and sneap's budget (s)")
    ap.add_argument("--simulate", action="store_true",
                    help="also replay every one-chip mapping in SANA-FE (snnmap simulate's bridge; snnmap[sanafe])")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "peers_table.jsonl")
    args = ap.parse_args()
    done = [json.loads(x) for x in args.out.read_text().splitlines()] if args.out.is_file() else []
    done = [r for r in done if r["app"] not in args.apps]
    for app in args.apps:
        net, hw = instance(app)
        for method, options in runs(hw):
            r = row(app, net, hw, method, options, args.time_limit, args.simulate)
            print(json.dumps(r), flush=True)
            done.append(r)
            write_text(args.out, "".join(json.dumps(x) + "\n" for x in done))
    order = {a: i for i, a in enumerate(APPS)}
    done.sort(key=lambda r: order.get(r["app"], 99))
    write_text(args.out.with_suffix(".md"), table(done, args.time_limit, args.out))


if __name__ == "__main__":
    main()
