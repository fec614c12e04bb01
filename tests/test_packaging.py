"""One installed package: every folder is listed, and a normal install works from a user's own project."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USER_PROJECT = Path(__file__).resolve().parent / "data" / "userproject"
SOURCES = ["pyproject.toml", "README.md", "src", "models", "properties", "checker", "traces"]


def test_every_package_folder_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = set()
    for package, folder in config["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            if "__pycache__" not in init.parts:
                rel = init.parent.relative_to(ROOT / folder)
                found.add(".".join((package, *rel.parts)))
    assert found == listed
    assert all(p == "splitbrain" or p.startswith("splitbrain.") for p in listed)  # nothing else at top level


def _run(args: list, cwd: Path) -> subprocess.CompletedProcess:
    # No PYTHONPATH, no virtualenv variables: only what the install itself provides.
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def can_build_wheels() -> bool:
    """setuptools builds wheels by itself from 70.1 on; before that it needs the wheel package."""
    import importlib.util

    import setuptools

    version = tuple(int(p) for p in setuptools.__version__.split(".")[:2] if p.isdigit())
    return version >= (70, 1) or importlib.util.find_spec("wheel") is not None


def test_normal_install_checks_and_replays_a_user_model_from_a_project_with_its_own_models_package(tmp_path):
    assert can_build_wheels(), "the test extra must bring setuptools>=70.1 or wheel (an offline, non-isolated build)"
    # A copy of the sources, so that the build leaves nothing in the repository.
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, src / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # The dependencies (and pip) come from this interpreter's site-packages, added as a plain path:
    # its .pth files, the editable install's among them, are not run.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = _run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index", src],
                   tmp_path)
    assert install.returncode == 0, install.stderr

    project = tmp_path / "project"
    shutil.copytree(USER_PROJECT, project, ignore=shutil.ignore_patterns("__pycache__", "traces"))
    where = _run([python, "-c", "import splitbrain, models.user; print(splitbrain.__file__); print(models.user.__file__)"],
                 project)
    assert where.returncode == 0, where.stderr
    package_file, user_file = where.stdout.split()
    assert Path(package_file).is_relative_to(venv)  # the normal install, not the editable one
    assert Path(user_file).is_relative_to(project)  # and the user's own models package

    cli = venv / "bin" / "splitbrain"
    ok = _run([cli, "check", "peterson.py:Peterson"], project)
    assert ok.returncode == 0, ok.stderr
    assert "Verdict: ok" in ok.stdout

    bad = _run([cli, "check", "peterson.py:BuggyPeterson", "--json"], project)
    assert bad.returncode == 1, bad.stderr
    report = json.loads(bad.stdout)
    assert report["verdict"] == "violation" and report["model"] == "BuggyPeterson"
    trace = project / report["trace"]
    assert trace.parent == project / "traces"  # the project config's trace_dir
    replayed = _run([cli, "replay", trace, "--model", "peterson.py:BuggyPeterson"], project)
    assert replayed.returncode == 0, replayed.stderr
    assert "reproduced: MutualExclusion violated at step 6" in replayed.stdout

    # A model named in [tool.splitbrain] replays by its name alone.
    named = _run([cli, "check", "buggy", "--json"], project)
    assert named.returncode == 1, named.stderr
    replayed = _run([cli, "replay", project / json.loads(named.stdout)["trace"]], project)
    assert replayed.returncode == 0, replayed.stderr
