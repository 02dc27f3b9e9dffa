"""Where the files that ship with MAUS Online live: the conf/ folder and the spill schema.

In a checkout, conf/ sits beside maus_online/; installed with pip, it travels inside the
package as ``maus_online/conf``. ``MAUS_CONF_DIR`` overrides both, for a site's own copy.
"""
from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def conf_directory() -> Path:
    """The folder holding defaults.toml, the cabling map and the calibration."""
    override = os.environ.get("MAUS_CONF_DIR")
    if override:
        return Path(override)
    checkout = _PACKAGE_DIR.parent / "conf"
    if (checkout / "defaults.toml").is_file():
        return checkout
    return _PACKAGE_DIR / "conf"


def conf_path(name: str) -> Path:
    """Resolve a configuration file name: absolute or ./relative paths as given, bare names in conf/.

    >>> conf_path("tof_cabling.json").name
    'tof_cabling.json'
    """
    path = Path(name)
    if path.is_absolute() or path.exists():
        return path
    return conf_directory() / path


def spill_schema_path() -> Path:
    """The JSON Schema of the spill document."""
    return _PACKAGE_DIR / "spill" / "spill.schema.json"
