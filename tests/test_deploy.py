"""The systemd units in deploy/ are valid, sandboxed and keep secrets out; the guide links up."""

from __future__ import annotations

import configparser
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = ["cio-council.service", "cio-council-backup.service", "cio-council-backup.timer"]
INSTALLED = "/opt/cio-council"  # where docs/deploy.md installs the release


def directives(unit: str) -> dict[str, list[str]]:
    """Every ``Key=value`` of the unit's [Service] section, repeated keys kept."""
    found: dict[str, list[str]] = {}
    section = ""
    for line in (DEPLOY / unit).read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and not line.startswith("#") and section == "Service":
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (Debian package systemd)")
def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    """`systemd-analyze verify` finds nothing wrong, with the release installed where the
    guide puts it (here a stand-in executable in a scratch copy of that path)."""
    program = tmp_path / "venv" / "bin" / "cio-council"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    for unit in UNITS:
        text = (DEPLOY / unit).read_text(encoding="utf-8")
        (tmp_path / unit).write_text(text.replace(INSTALLED, str(tmp_path)), encoding="utf-8")
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None
    checked = subprocess.run(
        [analyze, "verify", *(str(tmp_path / unit) for unit in UNITS)],
        capture_output=True, text=True, check=False,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"})
    assert (checked.returncode, checked.stderr) == (0, "")


def test_the_service_runs_sandboxed_as_its_own_user_with_secrets_in_a_file() -> None:
    """Its own user, a read-only system, no new privileges, a private /tmp; settings (and so
    secrets) come from an environment file, and the unit itself sets no COUNCIL_ variable."""
    service = directives("cio-council.service")
    assert service["User"] == ["cio-council"]
    for key, value in [("ProtectSystem", "strict"), ("NoNewPrivileges", "yes"),
                       ("PrivateTmp", "yes"), ("ProtectHome", "yes"), ("PrivateDevices", "yes")]:
        assert service[key] == [value], key
    assert service["EnvironmentFile"] == ["/etc/cio-council/council.env"]
    assert "Environment" not in service
    assert service["ExecStart"] == [f"{INSTALLED}/venv/bin/cio-council serve --webhook"]
    backup = directives("cio-council-backup.service")
    assert backup["User"] == ["cio-council"]
    assert any("-mtime +30 -delete" in line for line in backup["ExecStart"])
    timer = configparser.ConfigParser()
    timer.read(DEPLOY / "cio-council-backup.timer")
    assert timer["Timer"]["Persistent"] == "true"


def test_the_readme_links_the_deployment_guide() -> None:
    """README.md points to docs/deploy.md, which names each unit in deploy/."""
    assert "(docs/deploy.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for unit in UNITS:
        assert f"deploy/{unit}" in guide
