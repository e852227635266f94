"""The installed package works outside a checkout: its wheel carries what is read at run time."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of this checkout (setuptools builds in the source tree, and a
    stale build/ there would hide a missing file); no network: the installed setuptools builds."""
    source = tmp_path_factory.mktemp("source") / "cio-council"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", "council-demo"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out), str(source)], check=True, capture_output=True)
    (built,) = out.glob("cio_council-*.whl")
    return built


def test_wheel_ships_catalogs_and_migrations(wheel: Path) -> None:
    """Every translation catalog and migration of the checkout is inside the wheel."""
    names = set(zipfile.ZipFile(wheel).namelist())
    needed = {str(p.relative_to(ROOT)) for pattern in
              ("bot/i18n/zh/LC_MESSAGES/*.po", "storage/migrations/versions/*.py",
               "storage/migrations/*.mako")
              for p in ROOT.glob(pattern)}
    assert needed - names == set()


def test_installed_wheel_speaks_chinese(wheel: Path, tmp_path: Path) -> None:
    """Installed from the wheel into a fresh environment, the bot's replies are in Chinese."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # The dependencies come from this environment's site-packages, listed in a .pth file: a
    # line of a .pth adds a directory without running its own .pth files, so the editable
    # install of the checkout stays out and only the wheel provides `bot`.
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path("
                           "'purelib'))"], check=True, capture_output=True, text=True).stdout
    Path(site.strip(), "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True)
    probe = ("import bot.i18n as i; print(i.__file__); "
             "print(i.translate('zh', 'Commands you can use:'))")
    out = subprocess.run([str(python), "-c", probe], check=True, capture_output=True, text=True,
                         cwd=tmp_path).stdout.splitlines()
    assert str(env_dir) in out[0]
    assert out[1] == "您可以使用的命令："
