"""Packaging: `pip install .` ships every package and the files in conf/."""
from __future__ import annotations

import tomllib

PACKAGE_ROOTS = ("maus_online", "workers", "reducers", "outputters")


def test_every_python_package_is_listed_in_pyproject(repo_root):
    listed = set(tomllib.loads((repo_root / "pyproject.toml").read_text())
                 ["tool"]["setuptools"]["packages"])
    found = {".".join(init.parent.relative_to(repo_root).parts)
             for root in PACKAGE_ROOTS for init in (repo_root / root).rglob("__init__.py")
             if "__pycache__" not in init.parts}
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert "maus_online.conf" in listed


def test_conf_files_are_package_data(repo_root):
    pyproject = tomllib.loads((repo_root / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["maus_online.conf"]
    suffixes = {path.suffix for path in (repo_root / "conf").iterdir() if path.is_file()}
    assert suffixes <= {pattern.lstrip("*") for pattern in patterns}


def test_the_maus_files_of_conf_are_package_data(repo_root):
    """conf/maus/ holds MAUS's cabling and calibration text files (tof_reconstruction maus):
    a pip-installed go.py must find them as a checkout does."""
    from fnmatch import fnmatch

    pyproject = tomllib.loads((repo_root / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["maus_online.conf"]
    shipped = [path for path in (repo_root / "conf" / "maus").iterdir() if path.is_file()]
    assert shipped
    missing = [p.name for p in shipped
               if not any(fnmatch(f"maus/{p.name}", pattern) for pattern in patterns)]
    assert not missing, f"conf/maus/ files not in package-data: {missing}"
