"""What go.py leaves in an image directory, as the tests read it: the plots' files (images and
their sidecars) and, beside them, the directory's own documents (DESIGN.md §7a)."""
from __future__ import annotations

from pathlib import Path

#: The JSON documents go.py writes into image_directory that are no plot's sidecar: the run's
#: quality summary (outputters/quality_summary.py) and the farm's status.
DOCUMENTS = frozenset({"quality.json", "farm.json"})


def sidecar_paths(directory: Path) -> list[Path]:
    """The sidecars of ``directory`` (an image directory or an archived run), sorted."""
    return sorted(path for path in Path(directory).glob("*.json")
                  if path.name not in DOCUMENTS and path.name != "run.json")


def plot_file_names(directory: Path) -> list[str]:
    """The names of the plots' files in ``directory``: every file but its documents."""
    return sorted(path.name for path in Path(directory).iterdir()
                  if path.name not in DOCUMENTS)
