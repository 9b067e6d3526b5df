"""Shared test set-up: the repository root on the path, for this process and for kernels."""
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

sys.path.insert(0, str(ROOT))
# kernels started by the tests import this checkout's helpers, whatever is installed
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p])

# The claims suite (marker `claims`): every conclusion a notebook draws from a run is checked
# for each of these seeds and torch thread counts. Train each (seed, threads) once per session
# (functools.cache on a module-level function) and assert the conclusion, never the digits.
SEEDS = (0, 1, 2, 3, 4)
THREADS = (1, 2)
RUNS = [(seed, threads) for threads in THREADS for seed in SEEDS]


class torch_threads:
    """Context manager: run torch with n intra-op threads, then restore the previous count."""

    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        import torch

        self.before = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self.before)
