"""The ``snnmap`` command."""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any, Callable, NoReturn, Sequence

import numpy as np

from snnmap import api, registry
from snnmap.formulations import load_mapping, save_mapping
from snnmap.hardware import list_presets, load_hardware
from snnmap.instances.files import replacing
from snnmap.progress import Progress
from snnmap.report import breakdown, joules, result_text, table

# Errors a user can cause (bad files and paths, bad limits, sizes beyond this
# machine, impossible requests): shown as one clear line, never as a traceback
# (use --debug to see one). The domain errors (NetworkError, HardwareError,
# MappingError, QAPError, OptionError) are ValueErrors.
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, MemoryError, OverflowError)

MAX_THREADS = 1024
MAX_INT = 2**63 - 1  # the kernels count in 64-bit integers
MAX_CORES = 1_000_000  # a --mesh beyond this is refused up front: its per-core tables would exhaust memory
MAX_SLACK = 100.0  # --slack is a fraction of spare cores; 100 = 101 times the cores needed
QAP_BNB_SECONDS = 300.0  # `qap -m bnb` time limit when none is given

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
        parsed = _parse_value(value.strip())
        if isinstance(parsed, int) and abs(parsed) > MAX_INT:
            raise ValueError(f"--set {item}: too large; whole numbers up to {MAX_INT} (2**63 - 1)")
        overrides[key.strip()] = parsed
    return load_hardware(args.hardware, mesh=getattr(args, "mesh", None), **overrides)


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


# ------------------------------------------------------- argument checking
def _number(text: str, cast: Callable[[str], Any], what: str) -> Any:
    try:
        value = cast(text)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"{text!r}: {what}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r}: {what}")
    return value


def _ranged(cast: Callable[[str], Any], low: float, high: float, what: str) -> Callable[[str], Any]:
    """An argparse type: ``cast(text)`` within ``[low, high]``, else one line saying ``what``."""
    def parse(text: str) -> Any:
        value = _number(text, cast, what)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r}: {what}")
        return value

    return parse


def seconds(text: str) -> float | None:
    """``--time-limit``: positive seconds, or ``none`` for the method's default."""
    if text.strip().lower() in ("none", "default"):
        return None
    what = "time_limit must be a positive number of seconds; 'none' (or leaving it out) gives the method's default"
    value = _number(text, float, what)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: {what}")
    return value


def step_seconds(text: str) -> float:
    """``--max-step-time``: a positive number of seconds per time step."""
    what = "max_step_time must be a positive number of seconds per time step, e.g. 5e-6"
    value = _number(text, float, what)
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text!r}: {what}")
    return value


def mesh(text: str) -> tuple[int, int]:
    """``--mesh ROWSxCOLS`` with positive sizes."""
    parts = text.lower().split("x")
    what = "use ROWSxCOLS with whole numbers >= 1, e.g. --mesh 4x4"
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"{text!r}: {what}")
    rows, cols = (_ranged(int, 1, MAX_CORES, what)(p) for p in parts)
    if rows * cols > MAX_CORES:
        raise argparse.ArgumentTypeError(f"{text!r}: at most {MAX_CORES} cores")
    return rows, cols


SEED = _ranged(int, 0, registry.MAX_SEED, f"the seed must be a whole number from 0 to {registry.MAX_SEED}")
THREADS = _ranged(int, 1, MAX_THREADS, f"threads must be a whole number from 1 to {MAX_THREADS}")
WORKERS = _ranged(int, 1, MAX_THREADS, f"workers must be a whole number from 1 to {MAX_THREADS}")
GAP = _ranged(float, 0.0, math.inf, "the relative gap must be a number >= 0 (e.g. 0.01 for 1 %)")
SLACK = _ranged(float, 0.0, MAX_SLACK, f"the slack must be a fraction from 0 to {MAX_SLACK:g} (e.g. 0.25)")


def _writable(text: str | None, flag: str, directory: bool = False) -> None:
    """Refuse, before any work, an output path that cannot be written.

    A path that exists must be a regular file (a directory with ``directory``);
    its nearest existing ancestor must be a writable directory.
    """
    if not text:
        return
    path = Path(text)
    if path.exists() and not (path.is_dir() if directory else path.is_file()):
        kind = "a directory" if directory else "a file"
        raise ValueError(f"{flag} {text}: exists and is not {kind}; give {kind} path")
    parent = path if directory and path.is_dir() else path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{flag} {text}: {parent} is a file, not a directory")
    try:  # the one test that holds for every user, file system and /proc alike
        tempfile.TemporaryFile(dir=parent).close()
    except OSError as exc:
        raise ValueError(f"{flag} {text}: cannot write in {parent} ({exc.strerror})") from None


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
    _writable(args.cache, "--cache", directory=True)
    for name in names:
        net = build(name, scale=args.scale, seed=args.seed, cache_dir=args.cache, rebuild=args.rebuild,
                    progress=Progress(f"{name}:{args.scale}", delay=0.0))
        where = cache_path(name, args.scale, args.seed, args.cache) if args.scale == "full" else "instances/data"
        print(f"{name}:{args.scale}: {net.num_neurons:,} neurons, {net.num_synapses:,} synapses, "
              f"{net.total_spikes:,.0f} spikes -> {where}")
    return 0


# The method options of `snnmap map`: option name -> argparse dest (see registry.FLAGS for the flags).
MAP_OPTIONS = {"time_limit": "time_limit", "seed": "seed", "comm": "comm", "start": "start", "log_path": "log",
               "solver": "solver", "threads": "threads", "mip_gap": "mip_gap", "force": "force",
               "max_step_time": "max_step_time", "objective": "objective"}


def _map_options(args: argparse.Namespace) -> dict[str, Any]:
    """The method options the user gave, checked against the method (before any work)."""
    options = {name: getattr(args, dest) for name, dest in MAP_OPTIONS.items()
               if getattr(args, dest) is not None and getattr(args, dest) is not False}
    registry.get(args.method).check(options, spell=lambda o: registry.FLAGS.get(o) or "")
    return options


@command("map")
def cmd_map(args: argparse.Namespace) -> int:
    options = _map_options(args)
    if args.slack is not None and not args.fit:
        raise ValueError("--slack applies with --fit only (spare cores when resizing the mesh): add --fit")
    if args.spikes and not str(args.network).lower().endswith(".csv"):
        raise ValueError("--spikes applies to an edge-list network (.csv) only")
    _writable(args.out, "--out")
    _writable(args.log, "--log")
    net = api.load_network(args.network, spikes=args.spikes, progress=Progress("build", delay=0.0))
    hw = _hardware_from_args(args)
    if args.fit:
        net = api.fit_network(net, hw)
        hw = api.fit_hardware(net, hw, slack=args.slack or 0.0)
    if "progress" in registry.get(args.method).options:
        options["progress"] = Progress(args.method)
    print(f"network {net.name}: {net.num_neurons} neurons, {net.num_synapses} synapses, {net.total_spikes:g} spikes")
    print(hw.describe())
    if registry.get(args.method).kind != "exact" or isinstance(options.get("start"), str):
        from snnmap.heuristics import warm_up  # lazy: numba stays out of `snnmap --help`

        warm_up(Progress("numba", delay=0.0))  # compile before any timer starts, and say so
    result = api.solve(net, hw, method=args.method, **options)
    print(result_text(result))
    if result.mapping is not None and args.out:
        save_mapping(args.out, result.mapping, net, hw, method=result.method,
                     meta={"status": str(result.status), "energy": result.energy, "seed": result.seed})
        print(f"mapping written to {args.out}")
    if result.status == "interrupted":
        return 130  # the shell's code for Ctrl-C; the best mapping so far was printed and written above
    return 0 if result.status in ("optimal", "feasible", "gap_limit", "time_limit") else 1


def _mapping_on_hardware(args: argparse.Namespace, net: Any) -> tuple[Any, Any]:
    """``args.mapping`` read for ``net`` (fingerprint checked) and the hardware it was made for."""
    mapping = load_mapping(args.mapping, net)
    hw = _hardware_from_args(args)
    if args.mesh is None and mapping.mesh is not None and mapping.hardware == hw.name and hw.mesh != mapping.mesh:
        hw = hw.replace(mesh=mapping.mesh)  # the mesh the mapping was made for
    if mapping.num_cores is not None and mapping.num_cores != hw.num_cores:
        raise ValueError(
            f"{args.mapping}: the mapping was made for {mapping.num_cores} cores ({mapping.hardware}) but "
            f"{hw.name} has {hw.num_cores}: give the same hardware (--hardware/--mesh)"
        )
    return mapping, hw


@command("evaluate")
def cmd_evaluate(args: argparse.Namespace) -> int:
    net = api.load_network(args.network)
    mapping, hw = _mapping_on_hardware(args, net)
    report = api.evaluate(net, hw, mapping.core_of, args.comm)
    if args.json:
        print(json.dumps(report.summary(), indent=2))
    else:
        print(f"network {net.name} on {hw.describe()}")
        print(breakdown(report))
    return 0 if report.feasible else 1


# ---------------------------------------------------------- SANA-FE (issue 12)
def _sanafe_case(args: argparse.Namespace) -> tuple[Any, Any, np.ndarray, int]:
    """Network, hardware, checked cores and steps for SANA-FE; every refusal one line, before any run."""
    from snnmap import sanafe_bridge as sb

    sb.require_sanafe()  # without the extra: one line naming it
    net = api.load_network(args.network)
    if str(args.network).lower().endswith(api.SANAFE_SUFFIXES) and args.steps is None:
        raise ValueError(f"{args.network}: a SANA-FE network file has no step count: give --steps "
                         "(dvs.yaml's authors use 128)")
    if args.steps is not None:
        net = net.replace(time_steps=args.steps)
    mapping, hw = _mapping_on_hardware(args, net)
    if args.comm is not None:
        hw = hw.replace(comm=args.comm)  # unicast is refused below: SANA-FE sends one message per core
    report = api.evaluate(net, hw, mapping.core_of)
    if not report.feasible:
        raise ValueError(f"{args.mapping}: the mapping breaks a limit of {hw.name}: {report.violations[0]}; "
                         "map the network again for this chip (or lift a limit SANA-FE does not model with "
                         "--set LIMIT=none)")
    cores = sb.check_expressible(net, hw, mapping.core_of, None if _is_sanafe_file(args) else net.steps)
    return net, hw, cores, net.steps


def _is_sanafe_file(args: argparse.Namespace) -> bool:
    return str(args.network).lower().endswith(api.SANAFE_SUFFIXES)


@command("simulate")
def cmd_simulate(args: argparse.Namespace) -> int:
    from snnmap import sanafe_bridge as sb

    net, hw, cores, steps = _sanafe_case(args)
    if _is_sanafe_file(args):  # SANA-FE's own network, neurons and all: its spike counts come from this run
        read, sim = sb.simulate_file(args.network, steps, core_of=cores, timing_model=args.timing)
        net = read.network
        what = f"SANA-FE {sb.sanafe_version()}'s own simulation of {args.network}"
    else:
        sim = sb.replay(net, hw, cores, steps, timing_model=args.timing)
        what = f"SANA-FE {sb.sanafe_version()} replaying its spike counts"
    report = api.evaluate(net, hw, cores)
    closed = sb.loihi_formula(net, cores, steps, mesh=hw.mesh)
    print(f"network {net.name} on {hw.describe()}; {steps} steps; {what} (timing {args.timing})")

    def rel(a: float, b: float) -> str:
        return f"{abs(a - b) / abs(b):.1e}" if b else ("0" if a == b else "-")

    terms = [("neuron (soma)", "soma", "neuron"), ("synapse", "synapse", "synapse"),
             ("comm (network)", "network", "comm"), ("static", None, "static")]
    rows = [[label, joules(sim.energy[k] if k else 0.0), joules(report.terms[ours]),
             rel(report.terms[ours], sim.energy[k] if k else 0.0)] for label, k, ours in terms]
    rows.append(["total", joules(sim.energy["total"]), joules(report.total), rel(report.total, sim.energy["total"])])
    messages = int(report.packets + report.local_packets)
    rows.append(["messages", f"{sim.messages:,}", f"{messages:,}", rel(messages, sim.messages)])
    rows.append(["hops", f"{sim.hops:,}", f"{int(report.hop_packets):,}", rel(report.hop_packets, sim.hops)])
    rows.append(["time per step", f"{sim.step_time * 1e6:.4g} us", f"{closed.step_time * 1e6:.4g} us (simple)",
                 rel(closed.step_time, sim.step_time)])
    if report.step is not None:  # the evaluator's model: the mean step, plus the longest route (formulations/latency)
        rows.append(["time per step", "", f"{report.step_time * 1e6:.4g} us (evaluator)",
                     rel(report.step_time, sim.step_time)])
    print(table(["", "SANA-FE", "snnmap", "rel. diff"], rows))
    return 0


@command("export")
def cmd_export(args: argparse.Namespace) -> int:
    from snnmap import sanafe_bridge as sb

    _writable(args.out, "--out", directory=True)
    if _is_sanafe_file(args):
        raise ValueError(f"{args.network}: already a SANA-FE network file: run it with SANA-FE directly")
    net, hw, cores, steps = _sanafe_case(args)
    arch, network = sb.export(net, hw, cores, steps, args.out)
    print(f"wrote {arch} and {network} (SANA-FE {sb.sanafe_version()}, {steps} steps); run them with "
          "sanafe.load_arch / sanafe.load_net and SpikingChip.sim")
    return 0


@command("gap")
def cmd_gap(args: argparse.Namespace) -> int:
    from snnmap import gap_evaluator as gap_mod

    _writable(args.out, "--out", directory=True)
    report = gap_mod.gap(
        args.apps.split(",") if args.apps else None,
        scale=args.scale,
        hardware=args.hardware,
        methods=args.methods.split(",") if args.methods else None,
        time_limit=args.time_limit,
        workers=args.workers,
        scheduler=args.scheduler,
        seed=args.seed,
        out=args.out,
        update_bks=args.update_bks is not None,
        bks_path=args.update_bks or None,
        figures=not args.no_figures,
        progress=(lambda msg: print(msg, file=sys.stderr, flush=True)) if not args.quiet else None,
        max_step_time=args.max_step_time,
        comm=args.comm,
    )
    print(gap_mod.summary_tables(report))
    if report.write_error:  # the tables above are complete; only the files are missing
        print(f"snnmap: error: {report.write_error}", file=sys.stderr)
        return 1
    if report.out is not None:
        print(f"\nwrote {report.out / 'gap.csv'}, {report.out / 'gap.json'} and figures to {report.out}/")
    return 0


@command("sweep")
def cmd_sweep(args: argparse.Namespace) -> int:
    from snnmap import sweep as sweep_mod

    spec = sweep_mod.load_spec(args.spec, force=args.force)
    out = Path(args.out or f"sweep-results/{spec.name}")
    _writable(str(out), "--out", directory=True)
    print(f"{spec.name}: {spec.size} tasks ({len(spec.applications)} applications x {len(spec.scales)} scales x "
          f"{spec.chips} chips "
          f"x {len(spec.methods)} methods x {len(spec.seeds)} seeds) -> {out}/", flush=True)
    try:
        report = sweep_mod.sweep(spec, out, resume=args.resume, workers=args.workers, scheduler=args.scheduler,
                                 figures=not args.no_figures, stream=False if args.quiet else sys.stderr)
    except KeyboardInterrupt:
        print(f"\nsnnmap: interrupted; finished rows are kept in {out / sweep_mod.ROWS}: run the same command with "
              "--resume to run only the missing tasks", file=sys.stderr)
        return 130
    text = sweep_mod.summary(report)
    if text:
        print(text)
    skipped = f" ({report.skipped} already done)" if report.skipped else ""
    print(f"\n{len(report.rows)}/{spec.size} rows{skipped}: {out / 'sweep.csv'}, {out / sweep_mod.ROWS}"
          + (", figures" if not args.no_figures else ""))
    if report.failed:
        print(f"snnmap: error: {len(report.failed)} task(s) failed (listed above); fix the cause and run again with "
              "--resume to run only those", file=sys.stderr)
        return 1
    return 0


@command("qap")
def cmd_qap(args: argparse.Namespace) -> int:
    from snnmap.formulations.qap import read_qaplib, solve_qap

    inst = read_qaplib(args.file)
    print(f"{inst.name}: n = {inst.n} facilities, m = {inst.m} locations")
    log = (lambda line: print(line, file=sys.stderr, flush=True)) if args.verbose else None
    limit = QAP_BNB_SECONDS if args.time_limit is None and args.method == "bnb" else args.time_limit
    show = Progress(f"qap {args.method}")

    def progress(info: dict[str, Any]) -> None:  # bnb's periodic report, when --verbose does not print it
        show(f"{info['nodes']:,} nodes, incumbent {info['upper']:.10g}, bound {info['lower']:.10g}")

    res = solve_qap(inst.flow, inst.dist, linear=inst.linear, method=args.method, time_limit=limit,
                    seed=args.seed, log=log, progress=None if args.verbose else progress)
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
    mapping, hw = _mapping_on_hardware(args, net)
    out = Path(args.out or Path(args.mapping).with_suffix(".png"))
    _writable(str(out), "--out")
    with replacing(out) as tmp:
        plots.mesh_heat_map(net, hw, mapping.core_of, tmp, title=f"{net.name} on {hw.name}")
    print(f"heat map written to {out}")
    return 0


# -------------------------------------------------------------------- parser
class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``snnmap map: error: ...``), no usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_hardware_args(p: argparse.ArgumentParser, default: str | None = "crossbar128") -> None:
    p.add_argument("--hardware", "-H", default=default, help="preset name or TOML file (default: %(default)s)")
    p.add_argument("--mesh", type=mesh, help="override the mesh as ROWSxCOLS, e.g. 8x8")
    p.add_argument("--set", action="append", metavar="FIELD=VALUE",
                   help="override a limit or energy field, e.g. --set n_max=64 --set comm=unicast")
    p.add_argument("--comm", choices=["multicast", "unicast"], help="communication model (default: the hardware's)")


def _add_engine_args(p: argparse.ArgumentParser, *aliases: str) -> None:
    """``--workers`` (and ``aliases``) and ``--scheduler``: where a study's tasks run (see snnmap.engine)."""
    p.add_argument("--workers", *aliases, type=WORKERS, default=None,
                   help="worker processes of the embedded Dask cluster on this machine (default: one per core)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                   help="run on a running Dask cluster instead (default: $SNNMAP_SCHEDULER, else embedded)")


def _method_name(text: str) -> str:
    try:
        return registry.get(text).name
    except registry.OptionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _methods_epilog() -> str:
    width = max(len(name) for name in registry.METHODS)
    lines = ["methods (-m), each with the options it takes besides --time-limit, --seed and --comm:"]
    for m in registry.METHODS.values():
        extra = [registry.FLAGS[o] for o in m.options if registry.FLAGS[o] and o not in ("time_limit", "seed", "comm")]
        lines.append(f"  {m.name:<{width}}  {m.kind:<9}  {m.summary}" + (f" [{' '.join(extra)}]" if extra else ""))
    lines.append("Any other pair is refused with the options the method takes. Python: snnmap.methods().")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="snnmap",
                     description="Map spiking neural networks onto neuromorphic hardware with the least energy.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("hardware", help="list the hardware presets")

    p = sub.add_parser("apps", help="list the 10 applications with their sizes and data sources")
    p.add_argument("--scale", choices=["mini", "full", "both"], default="both")

    p = sub.add_parser("build", help="build (simulate) an application and cache it")
    p.add_argument("app", help="application name, a comma-separated list, or 'all'")
    p.add_argument("--scale", choices=["mini", "full"], default="full")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--cache", help="cache directory (default: $SNNMAP_CACHE or ~/.cache/snnmap)")
    p.add_argument("--rebuild", action="store_true", help="build again even when cached")

    p = sub.add_parser("map", help="map one network and show its energy breakdown", epilog=_methods_epilog(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("network", help="network file (.npz/.json/.nir/.csv) or application name, e.g. LeNet:mini")
    p.add_argument("--spikes", help="spike-count CSV for an edge-list (.csv) network")
    _add_hardware_args(p)
    p.add_argument("--fit", action="store_true",
                   help="unroll fan-ins the cores cannot hold and resize the mesh to the smallest that holds the "
                        "network")
    p.add_argument("--slack", type=SLACK, default=None,
                   help=f"with --fit: spare cores, as a fraction from 0 to {MAX_SLACK:g} (e.g. 0.25; default 0)")
    p.add_argument("--method", "-m", type=_method_name, default="auto",
                   help="mapping method (default: %(default)s); the list is below")
    p.add_argument("--time-limit", type=seconds, default=None,
                   help="seconds, > 0 (default, or 'none': the method's own limit)")
    p.add_argument("--seed", type=SEED, default=0,
                   help=f"0 to {registry.MAX_SEED}; same seed, same mapping (default 0)")
    p.add_argument("--start", help="warm start for exact methods: a heuristic's name or a mapping file (JSON)")
    p.add_argument("--log", help="write the solver log to this file")
    p.add_argument("--solver", help="Pyomo solver for the MILP methods (default: highs; e.g. gurobi, scip, cbc)")
    p.add_argument("--threads", type=THREADS, help=f"solver threads, 1 to {MAX_THREADS}")
    p.add_argument("--mip-gap", type=GAP, help="relative gap (>= 0) at which exact methods stop")
    p.add_argument("--force", action="store_true", help="build exact models even when they look too large")
    p.add_argument("--out", "-o", help="write the mapping (JSON) here")
    p.add_argument("--max-step-time", type=step_seconds, metavar="SECONDS",
                   help="time-per-step budget every method keeps, like a core limit (needs a chip with latency "
                        "numbers, e.g. loihi)")
    p.add_argument("--objective", choices=["energy", "latency", "weighted"], default=None,
                   help="what to minimise (default energy; weighted = E/E0 + t/t0, E0 and t0 the method's "
                        "energy-first mapping's)")

    p = sub.add_parser("evaluate", help="score a mapping file (from snnmap or any tool)")
    p.add_argument("network")
    p.add_argument("mapping", help="mapping JSON: {'core_of': [...]} or a plain list")
    _add_hardware_args(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    for name, text in (("simulate", "run a mapping in SANA-FE (Loihi) beside the evaluator; needs snnmap[sanafe]"),
                       ("export", "write SANA-FE's YAML files (architecture, network and mapping)")):
        p = sub.add_parser(name, help=text)
        p.add_argument("network", help="network file or application name (or a SANA-FE .yaml for simulate)")
        p.add_argument("mapping", help="mapping JSON, or a SANA-FE .yaml whose mappings section to use")
        _add_hardware_args(p, default="loihi")
        p.add_argument("--steps", type=_ranged(int, 1, MAX_INT, "steps must be a whole number >= 1"),
                       help="time steps (default: the network's; required for a SANA-FE .yaml)")
        if name == "simulate":
            p.add_argument("--timing", choices=["simple", "detailed"], default="simple",
                           help="SANA-FE's timing model (default: %(default)s, which the closed form reproduces)")
        else:
            p.add_argument("--format", choices=["sanafe"], required=True, help="file format (sanafe)")
            p.add_argument("--out", "-o", required=True, help="output directory")

    p = sub.add_parser("gap", help="the main job: heuristics against the proven optimum on the 10 applications")
    p.add_argument("--apps", help="comma-separated application names (default: all 10)")
    p.add_argument("--scale", choices=["mini", "full", "both"], default="mini")
    p.add_argument("--hardware", "-H", default=None,
                   help="preset or TOML (default: crossbar-mini for mini, crossbar128 resized to fit for full)")
    p.add_argument("--methods", help="comma-separated methods (default: "
                   + ", ".join((*registry.names(role="exact"), *registry.names(role=("ours", "baseline")))) + ")")
    p.add_argument("--time-limit", type=seconds, default=40.0, help="seconds per run, > 0 (default: %(default)s)")
    _add_engine_args(p, "-j", "--jobs")  # --jobs: the flag of the process pool it replaces
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--comm", choices=["multicast", "unicast"], default=None,
                   help="communication model of every run (default: the preset's); kept apart in the best-known table")
    p.add_argument("--out", "-o", default="gap-results", help="output directory (default: %(default)s)")
    p.add_argument("--update-bks", nargs="?", const="", default=None, metavar="PATH",
                   help="store better mappings in the best-known table PATH (without PATH: the shipped "
                        "instances/bks.csv, in a source checkout only)")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    p.add_argument("--max-step-time", type=step_seconds, metavar="SECONDS",
                   help="time-per-step budget every run keeps (a chip with latency numbers, e.g. -H loihi)")

    p = sub.add_parser("sweep", help="a study over chips: applications x grid of hardware fields x methods x seeds",
                       description="Run the study a TOML spec describes (see scripts/specs/mapping_matters.toml) on "
                                   "Dask; rows are appended to OUT/rows.jsonl as tasks finish.")
    p.add_argument("spec", help="the study's TOML file")
    p.add_argument("--out", "-o", help="output directory (default: sweep-results/NAME)")
    p.add_argument("--resume", action="store_true", help="run only the tasks without a row in OUT/rows.jsonl")
    p.add_argument("--force", action="store_true", help=f"run a study of more than {100_000:,} tasks")
    _add_engine_args(p)
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress line")

    p = sub.add_parser("qap", help="place a QAPLIB instance exactly (or heuristically)")
    p.add_argument("file", help="QAPLIB .dat file")
    p.add_argument("--method", "-m", default="auto", choices=["auto", "bnb", "milp", "cpsat", "anneal"],
                   help="auto: branch and bound up to n = 16, annealing above (default)")
    p.add_argument("--time-limit", type=seconds, default=None,
                   help=f"seconds, > 0 (default, or 'none': bnb stops after {QAP_BNB_SECONDS:g} s, the others "
                        "run to the end)")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--verbose", "-v", action="store_true", help="show solver progress")

    p = sub.add_parser("plot", help="mesh heat map of core load and link traffic for a mapping")
    p.add_argument("network")
    p.add_argument("mapping")
    _add_hardware_args(p)
    p.add_argument("--out", "-o", help="PNG file (default: the mapping's name with .png)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``snnmap``; returns the exit code (2 for a usage or input error, printed as one line)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or an argument refused by its type (one line)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("snnmap: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`
        return 0
    except MemoryError:
        if args.debug:
            traceback.print_exc()
        print("snnmap: error: out of memory: the network or the chip (--mesh, cores) is too large for this "
              "machine; use a smaller one", file=sys.stderr)
        return 2
    except USER_ERRORS as exc:
        if args.debug:
            traceback.print_exc()
        print(f"snnmap: error: {_one_line(exc)}", file=sys.stderr)
        return 2


def _one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line; OS errors keep their file name and reason."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    if isinstance(exc, OverflowError):
        return f"a number is too large ({exc})"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
