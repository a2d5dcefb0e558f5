"""Real peers as baselines: the tools people run, on snnmap's one evaluator.

Each adapter turns a snnmap network and chip into the peer's own input, runs the
peer's code unchanged, turns its answer back into a mapping and lets the
evaluator score it and check every limit:

- :mod:`.rig_sa`: rig 2.4.1's simulated-annealing placer (SpiNNaker's place and route);
- :mod:`.pacman_fill`: PACMAN (spinnaker-pacman 1!7.4.1), SpiNNaker's partitioner and placer;
- :mod:`.nengo_loihi`: nengo-loihi 1.1.0's splitter and allocators (Loihi's vendor pipeline),
  run in an isolated environment because it needs numpy < 2.

Install with ``pip install 'snnmap[peers]'``; a missing peer is one line naming the fix.
"""
