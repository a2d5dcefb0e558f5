"""The ``snnmap`` command."""

from __future__ import annotations

import argparse
import json
import sys
import traceback

import numpy as np
from pathlib import Path
from typing import Any, Callable, Sequence

from snnmap.formulations import load_mapping, save_mapping
from snnmap.hardware import list_presets, load_hardware
from snnmap import api
from snnmap.progress import Progress
from snnmap.report import joules, result_text, table, breakdown

# Errors a user can cause (bad files, bad limits, impossible requests): shown
# as one clear line, never as a traceback (use --debug to see one).
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, FileNotFoundError, PermissionError, IsADirectoryError)

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    def register(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS[name] = fn
        return fn

    return register


def _hardware_from_args(args: argparse.Namespace) -> Any:
    overrides: dict[str, Any] = {}
    for item in getattr(args, "set", None) or []:
        key, _, value = item.partition("=")
        if not _:
            raise ValueError(f"--set {item!r}: use FIELD=VALUE, e.g. --set n_max=64")
        overrides[key.strip()] = _parse_value(value.strip())
    mesh = None
    if getattr(args, "mesh", None):
        try:
            rows, cols = (int(v) for v in args.mesh.lower().split("x"))
        except ValueError:
            raise ValueError(f"--mesh {args.mesh!r}: use ROWSxCOLS, e.g. --mesh 4x4") from None
        mesh = (rows, cols)
    return load_hardware(args.hardware, mesh=mesh, **overrides)


def _parse_value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


# ------------------------------------------------------------------ commands
@command("hardware")
def cmd_hardware(args: argparse.Namespace) -> int:
    rows = []
    for name in list_presets():
        hw = load_hardware(name)
        lim, e = hw.limits, hw.energy
        shape = f"{hw.mesh[0]}x{hw.mesh[1]}" if hw.mesh else "matrix"
        if hw.cores_per_tile > 1:
            shape += f"x{hw.cores_per_tile}"
        rows.append([name, hw.num_cores, shape, lim.n_max, lim.a_max, lim.syn_max, lim.fanin_max, lim.dest_max,
                     hw.comm, joules(e.e_syn), joules(e.e_route), joules(e.hop_x), f"{e.p_static:g} W"])
    print(table(["preset", "cores", "mesh", "n_max", "a_max", "syn_max", "fanin", "dests", "comm",
                 "e_syn", "e_route", "e_hop", "p_static"], rows))
    print("\nA user's chip is one more TOML file of the same shape: see hardware/presets/crossbar128.toml.")
    return 0


@command("apps")
def cmd_apps(args: argparse.Namespace) -> int:
    from snnmap.instances.apps import app_rows

    scales = ("mini", "full") if args.scale == "both" else (args.scale,)
    rows = [[r["name"], r["scale"], f"{r['neurons']:,}", f"{r['synapses']:,}", f"{r['total_spikes']:,.0f}",
             r["input_source"], r["weight_source"]] for r in app_rows(scales)]
    print(table(["application", "scale", "neurons", "synapses", "spikes", "input", "weights"], rows))
    print("\nUse a name as a network: snnmap map LeNet:mini --hardware crossbar-mini; full instances are "
          "built and cached on first use (snnmap build APP --scale full).")
    return 0


@command("build")
def cmd_build(args: argparse.Namespace) -> int:
    from snnmap.instances.apps import APPS, build, cache_path, canonical

    names = APPS if args.app.lower() == "all" else [canonical(a) for a in args.app.split(",")]
    for name in names:
        net = build(name, scale=args.scale, seed=args.seed, cache_dir=args.cache, rebuild=args.rebuild,
                    progress=Progress(f"{name}:{args.scale}", delay=0.0))
        where = cache_path(name, args.scale, args.seed, args.cache) if args.scale == "full" else "instances/data"
        print(f"{name}:{args.scale}: {net.num_neurons:,} neurons, {net.num_synapses:,} synapses, "
              f"{net.total_spikes:,.0f} spikes -> {where}")
    return 0


@command("map")
def cmd_map(args: argparse.Namespace) -> int:
    net = api.load_network(args.network, spikes=args.spikes, progress=Progress("build", delay=0.0))
    hw = _hardware_from_args(args)
    if args.fit:
        net = api.fit_network(net, hw)
        hw = api.fit_hardware(net, hw, slack=args.slack)
    options: dict[str, Any] = {}
    if args.comm:
        options["comm"] = args.comm
    if args.log:
        options["log_path"] = args.log
    if args.start:
        options["start"] = args.start
    for key in ("solver", "threads", "mip_gap"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    if args.force:
        options["force"] = True
    options["progress"] = Progress(args.method)
    print(f"network {net.name}: {net.num_neurons} neurons, {net.num_synapses} synapses, {net.total_spikes:g} spikes")
    print(hw.describe())
    result = api.solve(net, hw, method=args.method, time_limit=args.time_limit, seed=args.seed, **options)
    print(result_text(result))
    if result.mapping is not None and args.out:
        save_mapping(args.out, result.mapping, net, hw, method=result.method,
                     meta={"status": str(result.status), "energy": result.energy, "seed": result.seed})
        print(f"mapping written to {args.out}")
    return 0 if result.status in ("optimal", "feasible", "time_limit") else 1


@command("evaluate")
def cmd_evaluate(args: argparse.Namespace) -> int:
    net = api.load_network(args.network)
    mapping = load_mapping(args.mapping, net)
    hw = _hardware_from_args(args)
    if args.mesh is None and mapping.mesh is not None and mapping.hardware == hw.name and hw.mesh != mapping.mesh:
        hw = hw.replace(mesh=mapping.mesh)  # the mesh the mapping was made for
    if mapping.num_cores is not None and mapping.num_cores != hw.num_cores:
        raise ValueError(
            f"{args.mapping}: the mapping was made for {mapping.num_cores} cores ({mapping.hardware}) but "
            f"{hw.name} has {hw.num_cores}: give the same hardware (--hardware/--mesh)"
        )
    report = api.evaluate(net, hw, mapping.core_of, args.comm)
    if args.json:
        print(json.dumps(report.summary(), indent=2))
    else:
        print(f"network {net.name} on {hw.describe()}")
        print(breakdown(report))
    return 0 if report.feasible else 1


@command("gap")
def cmd_gap(args: argparse.Namespace) -> int:
    from snnmap import gap_evaluator as gap_mod

    report = gap_mod.gap(
        args.apps.split(",") if args.apps else None,
        scale=args.scale,
        hardware=args.hardware,
        methods=args.methods.split(",") if args.methods else None,
        time_limit=args.time_limit,
        jobs=args.jobs,
        seed=args.seed,
        out=args.out,
        update_bks=args.update_bks is not None,
        bks_path=args.update_bks or None,
        figures=not args.no_figures,
        progress=(lambda msg: print(msg, file=sys.stderr, flush=True)) if not args.quiet else None,
    )
    print(gap_mod.summary_tables(report))
    if report.write_error:  # the tables above are complete; only the files are missing
        print(f"snnmap: error: {report.write_error}", file=sys.stderr)
        return 1
    if report.out is not None:
        print(f"\nwrote {report.out / 'gap.csv'}, {report.out / 'gap.json'} and figures to {report.out}/")
    return 0


@command("qap")
def cmd_qap(args: argparse.Namespace) -> int:
    from snnmap.formulations.qap import read_qaplib, solve_qap

    inst = read_qaplib(args.file)
    print(f"{inst.name}: n = {inst.n} facilities, m = {inst.m} locations")
    log = (lambda line: print(line, file=sys.stderr, flush=True)) if args.verbose else None
    res = solve_qap(inst.flow, inst.dist, linear=inst.linear, method=args.method, time_limit=args.time_limit,
                    seed=args.seed, log=log)
    bound = "-" if not np.isfinite(res.lower_bound) else f"{res.lower_bound:.10g}"
    print(table(["method", "status", "objective", "lower bound", "nodes", "time s"],
                [[res.method, res.status, f"{res.objective:.10g}", bound, res.nodes, f"{res.runtime:.2f}"]]))
    print("assignment (location of each facility, 1-based as in QAPLIB):",
          " ".join(str(int(k) + 1) for k in res.assignment))
    return 0


@command("plot")
def cmd_plot(args: argparse.Namespace) -> int:
    from snnmap import plots

    net = api.load_network(args.network)
    mapping = load_mapping(args.mapping, net)
    hw = _hardware_from_args(args)
    if args.mesh is None and mapping.mesh is not None and mapping.hardware == hw.name and hw.mesh != mapping.mesh:
        hw = hw.replace(mesh=mapping.mesh)
    out = Path(args.out or Path(args.mapping).with_suffix(".png"))
    plots.mesh_heat_map(net, hw, mapping.core_of, out, title=f"{net.name} on {hw.name}")
    print(f"heat map written to {out}")
    return 0


# -------------------------------------------------------------------- parser
def _add_hardware_args(p: argparse.ArgumentParser, default: str | None = "crossbar128") -> None:
    p.add_argument("--hardware", "-H", default=default, help="preset name or TOML file (default: %(default)s)")
    p.add_argument("--mesh", help="override the mesh as ROWSxCOLS, e.g. 8x8")
    p.add_argument("--set", action="append", metavar="FIELD=VALUE",
                   help="override a limit or energy field, e.g. --set n_max=64 --set comm=unicast")
    p.add_argument("--comm", choices=["multicast", "unicast"], help="communication model (default: the hardware's)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="snnmap", description="Map spiking neural networks onto neuromorphic hardware with the least energy.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("hardware", help="list the hardware presets")

    p = sub.add_parser("apps", help="list the 10 applications with their sizes and data sources")
    p.add_argument("--scale", choices=["mini", "full", "both"], default="both")

    p = sub.add_parser("build", help="build (simulate) an application and cache it")
    p.add_argument("app", help="application name, a comma-separated list, or 'all'")
    p.add_argument("--scale", choices=["mini", "full"], default="full")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", help="cache directory (default: $SNNMAP_CACHE or ~/.cache/snnmap)")
    p.add_argument("--rebuild", action="store_true", help="build again even when cached")

    p = sub.add_parser("map", help="map one network and show its energy breakdown")
    p.add_argument("network", help="network file (.npz/.json/.nir/.csv) or application name, e.g. LeNet:mini")
    p.add_argument("--spikes", help="spike-count CSV for an edge-list network")
    _add_hardware_args(p)
    p.add_argument("--fit", action="store_true",
                   help="unroll fan-ins the cores cannot hold and resize the mesh to the smallest that holds the network")
    p.add_argument("--slack", type=float, default=0.0, help="with --fit: spare cores, as a fraction (e.g. 0.25)")
    p.add_argument("--method", "-m", default="auto", help="mapping method (default: %(default)s); one of: "
                   + ", ".join(sorted(api.methods())))
    p.add_argument("--time-limit", type=float, default=None, help="seconds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start", help="warm start for exact methods: a heuristic's name")
    p.add_argument("--log", help="write the solver log to this file")
    p.add_argument("--solver", help="Pyomo solver for the MILP methods (default: highs; e.g. gurobi, scip, cbc)")
    p.add_argument("--threads", type=int, help="solver threads")
    p.add_argument("--mip-gap", type=float, help="relative gap at which exact methods stop")
    p.add_argument("--force", action="store_true", help="build exact models even when they look too large")
    p.add_argument("--out", "-o", help="write the mapping (JSON) here")

    p = sub.add_parser("evaluate", help="score a mapping file (from snnmap or any tool)")
    p.add_argument("network")
    p.add_argument("mapping", help="mapping JSON: {'core_of': [...]} or a plain list")
    _add_hardware_args(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    p = sub.add_parser("gap", help="the main job: heuristics against the proven optimum on the 10 applications")
    p.add_argument("--apps", help="comma-separated application names (default: all 10)")
    p.add_argument("--scale", choices=["mini", "full", "both"], default="mini")
    p.add_argument("--hardware", "-H", default=None,
                   help="preset or TOML (default: crossbar-mini for mini, crossbar128 resized to fit for full)")
    p.add_argument("--methods", help="comma-separated methods (default: milp, cpsat and every heuristic)")
    p.add_argument("--time-limit", type=float, default=40.0, help="seconds per run (default: %(default)s)")
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel local processes (default: 2, or 1 on one core)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", "-o", default="gap-results", help="output directory (default: %(default)s)")
    p.add_argument("--update-bks", nargs="?", const="", default=None, metavar="PATH",
                   help="store better mappings in the best-known table PATH (without PATH: the shipped "
                        "instances/bks.csv, in a source checkout only)")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")

    p = sub.add_parser("qap", help="place a QAPLIB instance exactly (or heuristically)")
    p.add_argument("file", help="QAPLIB .dat file")
    p.add_argument("--method", "-m", default="auto", choices=["auto", "bnb", "milp", "cpsat", "anneal"],
                   help="auto: branch and bound up to n = 16, annealing above (default)")
    p.add_argument("--time-limit", type=float, default=None, help="seconds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", "-v", action="store_true", help="show solver progress")

    p = sub.add_parser("plot", help="mesh heat map of core load and link traffic for a mapping")
    p.add_argument("network")
    p.add_argument("mapping")
    _add_hardware_args(p)
    p.add_argument("--out", "-o", help="PNG file (default: the mapping's name with .png)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("snnmap: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`
        return 0
    except USER_ERRORS as exc:
        if args.debug:
            traceback.print_exc()
        print(f"snnmap: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
