"""The reference run: the plots of a good run, drawn under the current ones (DESIGN §7b).

Consumes the configuration key ``reference_run`` -- a run number of the run archive
(``<archive_directory>/run_<6 digits>/``, :mod:`outputters.archive`) or the path of a run
directory -- and a histogram reducer's plots as booked at birth; produces one
:class:`~reducers.plotting.Reference` per tag, read from the run's sidecars (``image.histograms``,
UHI). The merge part loads them once per birth; they travel with each plot to the drawing
process (:func:`reference_json`), which never reads the archive itself.

* A reference run that does not exist (or has no readable sidecars) stops go.py at birth
  (MAUS-160), as does a sidecar that cannot be read (MAUS-163): a shifter who asked for a
  reference must not get plots silently without one.
* A plot whose reference was drawn with other bins (another binning, another geometry) stops
  go.py too (MAUS-161): an overlay of other bins would mislead. Axis titles and storage types
  are not compared, so renaming an axis does not orphan the good runs already archived.
* A tag the reference run lacks (a reducer added since) is drawn without a reference, with a
  warning (MAUS-162): the other plots keep theirs.

>>> import boost_histogram as bh
>>> now = bh.Histogram(bh.axis.Regular(2, 0.0, 2.0)); _ = now.fill([0.5, 0.5, 1.5, 1.5])
>>> old = bh.Histogram(bh.axis.Regular(2, 0.0, 2.0)); _ = old.fill([0.5])
>>> scaled(old, now).tolist()
[4.0, 0.0]
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import boost_histogram as bh
import numpy as np
import orjson
import uhi.io.json

from maus_online.catalogue import say
from maus_online.errors import ConfigurationError
from outputters.archive import RUN_FILE, RUN_NAME, archive_directory, run_directory_name

from .image_document import histogram_json, histograms_from_json
from .plotting import Plot, Reference

log = logging.getLogger(__name__)

#: The configuration key.
KEY = "reference_run"


def reference_directory(config: Mapping[str, Any]) -> Path | None:
    """The run directory ``reference_run`` names, or None when it is empty."""
    value = str(config.get(KEY) or "").strip()
    if not value:
        return None
    if value.isdigit():  # a run number: that run of this configuration's archive
        return archive_directory(config) / run_directory_name(int(value))
    return Path(value)


def load_references(config: Mapping[str, Any], reducer: str,
                    plots: Sequence[Plot]) -> dict[str, Reference]:
    """The reference of each of ``plots`` (booked, empty) by tag; {} without ``reference_run``.

    Raises :class:`ConfigurationError` (MAUS-160, MAUS-161, MAUS-163) naming the run and the
    tag; a tag the run lacks is logged (MAUS-162) and left out.
    """
    directory = reference_directory(config)
    if directory is None or not plots:
        return {}
    value = str(config[KEY]).strip()
    sidecars = _sidecars(directory, value, reducer, plots[0].tag, config)
    references = {}
    for plot in plots:
        path = sidecars.get(plot.tag, directory / f"{plot.tag}.json")
        if not path.is_file():
            log.warning("%s", say("MAUS-162", run=value, tag=plot.tag, reducer=reducer,
                                  directory=str(directory)))
            continue
        try:
            image = orjson.loads(path.read_bytes())["image"]
            histograms = histograms_from_json(image["histograms"])
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(say("MAUS-163", run=value, tag=plot.tag, path=str(path),
                                         reason=f"{type(exc).__name__}: {exc}")) from None
        difference = binning_difference(plot.histograms, histograms)
        if difference:
            raise ConfigurationError(say("MAUS-161", run=value, tag=plot.tag, path=str(path),
                                         difference=difference, reducer=reducer))
        # In the current plot's order, so image.reference lines up with image.histograms.
        references[plot.tag] = Reference(
            _run_number(image, directory), {name: histograms[name] for name in plot.histograms})
    return references


def _sidecars(directory: Path, value: str, reducer: str, tag: str,
              config: Mapping[str, Any]) -> dict[str, Path]:
    """The sidecar of each tag, as the run's run.json lists them (a prefix in their names);
    MAUS-160 when the run directory does not exist."""
    if not directory.is_dir():
        reason = "does not exist" if not directory.exists() else "is not a directory"
        raise ConfigurationError(say("MAUS-160", run=value, path=str(directory), reason=reason,
                                     reducer=reducer, tag=tag,
                                     archive=str(archive_directory(config))))
    try:
        plots = orjson.loads((directory / RUN_FILE).read_bytes()).get("plots") or {}
        return {tag: directory / plot["sidecar"] for tag, plot in plots.items()}
    except (OSError, orjson.JSONDecodeError, AttributeError, KeyError, TypeError):
        return {}  # a run directory without run.json: <tag>.json, as OutputPyImage names them


def _run_number(image: Mapping[str, Any], directory: Path) -> int | None:
    number = image.get("run_number")
    if isinstance(number, int) and not isinstance(number, bool):
        return number
    match = RUN_NAME.fullmatch(directory.name)
    return int(match.group(1)) if match else None


def binning_difference(current: Mapping[str, bh.Histogram],
                       reference: Mapping[str, bh.Histogram]) -> str:
    """What differs between the bins of two plots' histograms ("" when nothing does)."""
    if set(current) != set(reference):
        return (f"histograms {', '.join(reference) or 'none'} in the reference, "
                f"{', '.join(current)} now")
    for name, histogram in current.items():
        now, then = _bins(histogram), _bins(reference[name])
        if now != then:
            return f"{name}: {_describe(then)} in the reference, {_describe(now)} now"
    return ""


def _bins(histogram: bh.Histogram) -> list[dict[str, Any]]:
    """The UHI form of the axes without their metadata (titles): what makes the bins."""
    return [{k: v for k, v in axis.items() if k != "metadata"}
            for axis in uhi.io.json.default(histogram)["axes"]]


def _describe(axes: list[dict[str, Any]]) -> str:
    parts = []
    for axis in axes:
        if axis.get("type") == "regular":
            parts.append(f"{axis['bins']} bins {axis['lower']:g}-{axis['upper']:g}")
        else:
            parts.append(f"{axis.get('type')} axis of {len(axis.get('edges', ())) - 1} bins")
    return " x ".join(parts)


def scaled(reference: bh.Histogram, current: bh.Histogram) -> np.ndarray:
    """The in-range bins of ``reference`` scaled to the entries ``current`` shows; unscaled
    while ``current`` is empty, so that the shifter sees what to expect from the first spill."""
    values = reference.values().astype(np.float64)
    total, wanted = float(values.sum()), float(current.values().sum())
    if total > 0 and wanted > 0:
        values *= wanted / total
    return values


def outlines(plot: Plot) -> list[tuple[int, str, np.ndarray]]:
    """What the back ends draw of a 1D plot's reference: (the index of the current histogram,
    its label, the scaled reference bins) for each histogram the reference has."""
    if plot.reference is None or plot.is_2d:
        return []
    return [(n, name, scaled(plot.reference.histograms[name], histogram))
            for n, (name, histogram) in enumerate(plot.histograms.items())
            if name in plot.reference.histograms]


def reference_label(plot: Plot) -> str:
    """The legend text of a plot's reference: ``Run 7 (reference)``."""
    number = plot.reference.run_number if plot.reference else None
    return f"Run {'?' if number is None else number} (reference)"


def reference_json(reference: Reference | None) -> dict[str, Any] | None:
    """``image.reference`` of the image document: the run number and the reference's
    histograms in UHI form, in the order of ``image.histograms`` (None: no reference)."""
    if reference is None:
        return None
    return {"run_number": reference.run_number,
            "histograms": [histogram_json(name, h) for name, h in reference.histograms.items()]}


def reference_from_json(data: Mapping[str, Any] | None) -> Reference | None:
    """The :class:`Reference` of :func:`reference_json` (how the drawing process gets it)."""
    if not data:
        return None
    return Reference(data.get("run_number"), histograms_from_json(data["histograms"]))
