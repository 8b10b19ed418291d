"""Benchmark and quality report of the APT assistant: latency, throughput, memory, start-up
and training time against Rasa's default assistant measured in the same run, plus NLU
quality. Run it with `python -m benchmark` (`--help` lists the options).

Every path is derived from this file, so the report can be rerun from any checkout.
"""

from __future__ import annotations

from apt_settings import ROOT as ROOT  # the one ROOT, re-exported

REPORTS = ROOT / "reports"
SCRATCH = ROOT / "build" / "benchmark"  # gitignored: scratch projects, models, rasa outputs
