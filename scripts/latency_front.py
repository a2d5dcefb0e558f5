"""The energy-latency trade-off on the `loihi` preset: each method's point and partition-refine's front.

For each application (full scale): every heuristic maps it for energy (its point:
energy against time per step); then partition-refine runs under a sweep of
``max_step_time`` budgets through the front door
(``snnmap.solve(..., max_step_time=B)``), giving the front of what it keeps under
each budget. Also drawn: partition-refine with ``objective="latency"``; the budgets
run from partition-refine's own step time down to the fastest step that run or any
method's point reached (``random``'s, when it spreads over every core).

    python scripts/latency_front.py                      # HeartEstm, DigitRecogSTDP
    python scripts/latency_front.py --apps HeartEstm --budgets 4 --time-limit 10

Writes ``scripts/results/latency_front.{md,png,json}``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from snnmap import registry
from snnmap.api import load_network, solve
from snnmap.formulations.latency import min_step_time
from snnmap.hardware import load_hardware
from snnmap.instances.files import atomic_write, write_text

APPS = ["HeartEstm", "DigitRecogSTDP"]
RESULTS = Path(__file__).resolve().parent / "results"


def run(net, hw, method: str, time_limit: float, **options) -> dict:
    t0 = time.time()
    res = solve(net, hw, method, time_limit=time_limit, seed=0, **options)
    ok = res.report is not None and res.report.feasible
    return {"method": method, **{k: v for k, v in options.items()}, "status": str(res.status),
            "energy": res.energy if ok else None, "step_time": res.report.step_time if ok else None,
            "cores": res.report.cores_used if ok else None, "seconds": round(time.time() - t0, 1),
            "message": res.message if not ok else ""}


def front(rows: list[dict]) -> list[dict]:
    """The points no other point beats on both energy and step time, by step time."""
    pts = sorted((r for r in rows if r["energy"] is not None), key=lambda r: (r["step_time"], r["energy"]))
    out, best = [], math.inf
    for r in pts:
        if r["energy"] < best:
            out.append(r)
            best = r["energy"]
    return out


def draw(results: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 4.2), squeeze=False)
    markers = dict(zip(registry.names(kind="heuristic"), "osD^vP"))
    for ax, (app, res) in zip(axes[0], results.items()):
        for r in res["methods"]:
            if r["energy"] is not None:
                ax.scatter(r["step_time"] * 1e6, r["energy"] * 1e3, marker=markers.get(r["method"], "o"), s=40,
                           label=r["method"])
        for r in res["latency"]:
            if r["energy"] is not None:
                ax.scatter(r["step_time"] * 1e6, r["energy"] * 1e3, marker=markers.get(r["method"], "o"), s=40,
                           facecolors="none", edgecolors="grey")
        fr = front(res["budgets"])
        ax.plot([r["step_time"] * 1e6 for r in fr], [r["energy"] * 1e3 for r in fr], "k.-",
                label="partition-refine under budgets")
        ax.axvline(res["min_step_time"] * 1e6, color="red", ls=":", lw=1, label="fastest possible step")
        ax.set_xlabel("time per step (us)")
        ax.set_ylabel("energy (mJ)")
        ax.set_title(f"{app} on loihi ({res['neurons']} neurons)", fontsize=9)
        ax.legend(fontsize=6)
    fig.text(0.01, 0.01, "filled: energy objective; hollow grey: partition-refine, objective latency", fontsize=7)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=110))
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", nargs="+", default=APPS)
    parser.add_argument("--budgets", type=int, default=8, help="budgets in the sweep")
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--out", default=str(RESULTS / "latency_front"))
    args = parser.parse_args(argv)
    results: dict[str, dict] = {}
    for app in args.apps:
        net = load_network(f"{app}:full")
        hw = load_hardware("loihi")
        floor = min_step_time(net, hw)
        methods = [run(net, hw, m, args.time_limit) for m in registry.names(kind="heuristic")]
        fastest = [run(net, hw, "partition-refine", args.time_limit, objective="latency")]
        top = next(r["step_time"] for r in methods if r["method"] == "partition-refine")
        # Down to the fastest step anything reached: the latency objective's run or another method's point.
        fast = min(r["step_time"] for r in methods + fastest if r["step_time"])
        budgets = np.geomspace(top, fast, args.budgets + 1)[1:] if fast and fast < top else []
        swept = [run(net, hw, "partition-refine", args.time_limit, max_step_time=float(b)) for b in budgets]
        results[app] = {"neurons": net.num_neurons, "steps": net.steps, "min_step_time": floor, "methods": methods,
                        "latency": fastest, "budgets": [next(r for r in methods if r["method"] == "partition-refine"),
                                                        *swept]}
        for r in methods + fastest + swept:
            print(app, r, flush=True)
    out = Path(args.out)
    write_text(out.with_suffix(".json"), json.dumps(results, indent=1))
    draw(results, out.with_suffix(".png"))
    lines = [f"# Energy against time per step on loihi (`python scripts/latency_front.py --budgets {args.budgets} "
             f"--time-limit {args.time_limit:g}`)", ""]
    for app, res in results.items():
        lines += [f"## {app}:full ({res['neurons']} neurons, {res['steps']} steps); fastest possible step "
                  f"{res['min_step_time'] * 1e6:.3f} us", "",
                  "| run | method | objective / budget (us) | status | energy (mJ) | step (us) | cores | seconds |",
                  "|---|---|---|---|---|---|---|---|"]
        for kind in ("methods", "latency", "budgets"):
            for r in res[kind]:
                what = (f"budget {r['max_step_time'] * 1e6:.3f}" if "max_step_time" in r
                        else r.get("objective", "energy"))
                e = f"{r['energy'] * 1e3:.5f}" if r["energy"] is not None else "-"
                t = f"{r['step_time'] * 1e6:.3f}" if r["step_time"] is not None else "-"
                lines.append(f"| {kind} | {r['method']} | {what} | {r['status']} | {e} | {t} | {r['cores'] or '-'} "
                             f"| {r['seconds']} |")
        lines.append("")
    write_text(out.with_suffix(".md"), "\n".join(lines) + "\n")
    print(f"wrote {out}.md, .png, .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
