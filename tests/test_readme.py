"""The README's quick start is what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```\w*\n(.*?)```", section, re.DOTALL)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_is_run_then_test() -> None:
    """The first code block under Quick start holds exactly two commands: run, then test."""
    run, test = quick_start()
    assert run.endswith("cio-council serve")
    assert test.endswith("pytest")


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run calls the README's test command verbatim, so the two cannot drift apart."""
    _, test = quick_start()
    assert test in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
