"""The image directory as the front-end sees it: JSON sidecars in, image records out.

``OutputPyImage`` (docs/histograms.md) writes, for each plot with tag ``T``, an image file
``<prefix>T.<type>`` and a sidecar ``<prefix>T.json`` holding the image document without its
data, plus ``image_file``, the image's file name. Those files are the whole interface between
the reconstruction and the web: this module reads nothing else, imports nothing of the
reconstruction and nothing of Django, so it can be tested and reused as plain Python::

    store = ImageStore("images")
    for record in latest_per_series(store.records()):
        print(record.tag, record.run_number, record.spills_seen)

Rules, all of them because the directory is published to the control room's browsers:

* A sidecar that cannot be read, is not JSON, or breaks the sidecar layout is skipped with one
  log line (MAUS-304, per version of the file), never an error page: one bad file must not hide
  the others. Sidecars are read by ``json_files.read_json_file``: regular files only, within the
  size and depth limits, strict JSON (no NaN), so no file can hang or crash a listing.
* Files are served only by tag lookup: the sidecar names the image, and the image must be a
  plain file name whose real path (symlinks resolved) lies directly in the directory. Anything
  else -- ``..``, absolute paths, a symlink pointing elsewhere -- is treated as absent.
* Parsed sidecars are cached by (mtime, size, inode), so polling browsers cost a ``stat`` per
  file rather than a JSON parse; ``OutputPyImage`` replaces files by rename, which changes the
  inode, so a rewrite is never mistaken for the old file.
"""
from __future__ import annotations

import logging
import os
import re
import stat
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .json_files import JsonLimits, describe, printable, read_json_file
from .messages import say
from .quality import PlotQuality, read_plot_quality

log = logging.getLogger(__name__)

#: What a tag may be; mirrors ``image.schema.json`` (a plain file name, never a path).
TAG_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,199}")
#: The refresh number ``histogram_auto_number`` appends to a tag: ``tof_time_01_000003``.
AUTO_NUMBER = re.compile(r"_[0-9]{6}\Z")
#: Image types the reducers write, with the content type they are served as.
CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "eps": "application/postscript",
}
#: The types an ``<img>`` element can show; the others are offered as downloads.
BROWSER_TYPES = frozenset({"png", "jpg", "svg"})
#: JSON documents go.py writes into the image directory that are not sidecars (DESIGN.md §7a):
#: the farm's status (farm.py) and the run's quality summary (metrics.py, the quality page).
DIRECTORY_DOCUMENTS = frozenset({"farm.json", "quality.json"})
#: The sidecar layout this front-end understands (``format_version`` in the image document).
FORMAT_VERSION = 1


class SidecarError(ValueError):
    """A sidecar is unusable; the message says which field is wrong and how."""


@dataclass(frozen=True)
class _Metadata:
    """What a sidecar says, checked; the image file's state is looked up at each listing."""

    tag: str
    image_file: str
    image_type: str
    description: str
    keywords: tuple[str, ...]
    run_number: int | None
    spill_number: int | None
    spills_seen: int | None
    time: str
    format_version: int
    #: ``image.quality`` checked (quality.py); None when the sidecar carries none.
    quality: PlotQuality | None


@dataclass(frozen=True)
class ImageRecord(_Metadata):
    """One plot as listed in the image directory: its sidecar's metadata and its image file.

    ``series`` is the tag without the auto-number suffix, so the refreshes of one plot share
    it; ``modified`` (seconds since the epoch) and ``version`` come from the image file and
    change whenever ``OutputPyImage`` replaces it.
    """

    series: str
    sidecar_file: str
    modified: float
    version: str
    size: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.image_type]

    @property
    def browser_displayable(self) -> bool:
        return self.image_type in BROWSER_TYPES


@dataclass
class _CacheEntry:
    key: tuple[int, int, int]
    metadata: _Metadata | None  # None: the sidecar was refused (and that was logged once)
    image_missing_logged: bool = False


def series_of(tag: str) -> str:
    """The tag without ``histogram_auto_number``'s suffix: ``tof_xy_0_000012`` -> ``tof_xy_0``."""
    return AUTO_NUMBER.sub("", tag)


def is_plain_file_name(name: object) -> bool:
    """True for a name that can only mean a file directly in the directory."""
    return (isinstance(name, str) and name not in ("", ".", "..") and not name.startswith(".")
            and "/" not in name and "\\" not in name and "\0" not in name
            and os.path.basename(name) == name)


def parse_sidecar(document: Any) -> _Metadata:
    """Check a sidecar's content (already parsed JSON) and return its metadata.

    Raises SidecarError naming the offending field. The tag, type and image file name are
    required because files are served through them; the texts and numbers may be missing
    (shown blank) but not of the wrong type, since search and display rely on their types.
    """
    image = document.get("image") if isinstance(document, dict) else None
    if not isinstance(image, dict):
        raise SidecarError("no 'image' object")
    version = image.get("format_version")
    if version != FORMAT_VERSION:
        raise SidecarError(f"format_version is {version!r}; this front-end reads version "
                           f"{FORMAT_VERSION}")
    tag = image.get("tag")
    if not isinstance(tag, str) or not TAG_PATTERN.fullmatch(tag):
        raise SidecarError(f"tag {tag!r} is not a plain file name (letters, digits, _ . + -)")
    image_type = image.get("image_type")
    if image_type not in CONTENT_TYPES:
        raise SidecarError(f"image_type {image_type!r} is not one of {', '.join(CONTENT_TYPES)}")
    image_file = image.get("image_file")
    if not is_plain_file_name(image_file) or not image_file.endswith(f".{image_type}"):
        raise SidecarError(f"image_file {image_file!r} is not a plain file name ending in "
                           f".{image_type}")
    keywords = image.get("keywords", [])
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise SidecarError("keywords is not a list of strings")
    texts = {key: image.get(key, "") for key in ("description", "time")}
    for key, value in texts.items():
        if not isinstance(value, str):
            raise SidecarError(f"{key} is {type(value).__name__}, expected a string")
    numbers = {key: image.get(key) for key in ("run_number", "spill_number", "spills_seen")}
    for key, value in numbers.items():
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise SidecarError(f"{key} is {value!r}, expected an integer")
    # Malformed quality keeps the plot (as Null, with the reason): quality.py says why.
    return _Metadata(tag=tag, image_file=image_file, image_type=image_type,
                     keywords=tuple(keywords), format_version=version,
                     quality=read_plot_quality(image), **texts, **numbers)


class ImageStore:
    """Reads the sidecars and images of one image directory (see the module docstring).

    Safe to share between the threads of a web server: the cache is guarded by a lock, and
    every answer reflects the directory at the moment of the call. ``limits`` bound each
    sidecar's size and nesting (settings MAUS_SIDECAR_MAX_BYTES, MAUS_SIDECAR_MAX_DEPTH);
    ``ignore`` names JSON files of the directory that are not sidecars (an archived run's
    ``run.json``).
    """

    def __init__(self, directory: str | os.PathLike[str], *,
                 limits: JsonLimits = JsonLimits(), ignore: frozenset[str] = frozenset()) -> None:
        self.directory = Path(os.path.abspath(directory))
        self.limits = limits
        self.ignore = ignore
        self._cache: dict[str, _CacheEntry] = {}
        self._lock = threading.Lock()

    def exists(self) -> bool:
        return self.directory.is_dir()

    def records(self) -> list[ImageRecord]:
        """Every readable plot, one per tag (the newest image wins a tie), sorted by tag."""
        real_directory = os.path.realpath(self.directory)
        try:
            names = sorted(entry.name for entry in os.scandir(self.directory)
                           if entry.name.endswith(".json") and is_plain_file_name(entry.name)
                           and entry.name not in self.ignore
                           and entry.name not in DIRECTORY_DOCUMENTS)
        except (FileNotFoundError, NotADirectoryError):
            return []
        by_tag: dict[str, ImageRecord] = {}
        with self._lock:
            self._cache = {name: entry for name, entry in self._cache.items() if name in names}
            for name in names:
                record = self._record(name, real_directory)
                if record is not None:
                    known = by_tag.get(record.tag)
                    if known is None or record.modified > known.modified:
                        by_tag[record.tag] = record
        return [by_tag[tag] for tag in sorted(by_tag)]

    def get(self, tag: str) -> ImageRecord | None:
        """The plot with this tag or, failing that, the latest refresh of the series ``tag``."""
        if not TAG_PATTERN.fullmatch(tag):
            return None
        records = self.records()
        for record in records:
            if record.tag == tag:
                return record
        series = [record for record in records if record.series == tag]
        return latest(series)

    def document(self, record: ImageRecord) -> dict[str, Any] | None:
        """The sidecar's whole ``image`` object, histograms included, read afresh; None if it
        has gone or no longer passes the checks (``OutputPyImage`` may have replaced it)."""
        path = self._inside(record.sidecar_file, os.path.realpath(self.directory))
        if path is None:
            return None
        try:
            document = read_json_file(path, self.limits)
            parse_sidecar(document)
        except (OSError, ValueError):  # JsonFileError and SidecarError are ValueErrors
            return None
        return document["image"]

    def open_image(self, record: ImageRecord) -> tuple[BinaryIO, os.stat_result] | None:
        """The image file opened for reading, with its status, or None if it is not a regular
        file directly inside the directory."""
        path = self._inside(record.image_file, os.path.realpath(self.directory))
        if path is None:
            return None
        try:
            # O_NOFOLLOW: the path is already resolved, so a symlink here would be one swapped
            # in after the check; refuse it rather than follow it out of the directory.
            # O_NONBLOCK: a FIFO swapped in would block the open for ever; fstat refuses it.
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return None
        stream = os.fdopen(descriptor, "rb")
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            stream.close()
            return None
        return stream, status

    def _inside(self, name: str, real_directory: str) -> str | None:
        """The real path of ``name`` if it resolves to an entry directly in the directory."""
        if not is_plain_file_name(name):
            return None
        real = os.path.realpath(os.path.join(self.directory, name))
        return real if os.path.dirname(real) == real_directory else None

    def _record(self, name: str, real_directory: str) -> ImageRecord | None:
        sidecar = self._inside(name, real_directory)
        if sidecar is None:
            self._refuse_once(name, "it resolves to a file outside the image directory")
            return None
        try:
            status = os.stat(sidecar)
        except OSError:
            return None  # replaced or removed between listing and stat: next poll sees it
        key = (status.st_mtime_ns, status.st_size, status.st_ino)
        entry = self._cache.get(name)
        if entry is None or entry.key != key:
            entry = _CacheEntry(key, self._read_metadata(name, sidecar))
            self._cache[name] = entry
        metadata = entry.metadata
        if metadata is None:
            return None
        image = self._inside(metadata.image_file, real_directory)
        try:
            image_status = os.stat(image) if image is not None else None
        except OSError:
            image_status = None
        if image_status is None or not stat.S_ISREG(image_status.st_mode):
            if not entry.image_missing_logged:
                self._skipped(name, f"its image {metadata.image_file} is missing or not a "
                                    "regular file in the directory")
                entry.image_missing_logged = True
            return None
        return ImageRecord(
            **vars(metadata), series=series_of(metadata.tag), sidecar_file=name,
            modified=image_status.st_mtime,
            version=f"{image_status.st_mtime_ns:x}-{image_status.st_size:x}",
            size=image_status.st_size)

    def _read_metadata(self, name: str, path: str) -> _Metadata | None:
        # The status was taken by the caller for the cache key; read_json_file takes its own,
        # on the descriptor it reads, so a file swapped in meanwhile is judged as it is.
        try:
            metadata = parse_sidecar(read_json_file(path, self.limits))
        except (OSError, ValueError) as exc:  # JsonFileError and SidecarError are ValueErrors
            self._skipped(name, describe(exc))
            return None
        if metadata.quality is not None and metadata.quality.error:
            log.warning("%s", say("MAUS-315", directory=printable(self.directory),
                                  name=printable(name), reason=metadata.quality.error))
        return metadata

    def _refuse_once(self, name: str, reason: str) -> None:
        # Remember refusals under a key that never matches a real stat, so the line is
        # logged once while the file stays, not at every poll of every browser.
        if name not in self._cache:
            self._cache[name] = _CacheEntry((-1, -1, -1), None)
            self._skipped(name, reason)

    def _skipped(self, name: str, reason: str) -> None:
        log.warning("%s", say("MAUS-304", directory=printable(self.directory),
                              name=printable(name), reason=reason))


def latest(records: Iterable[ImageRecord]) -> ImageRecord | None:
    """The most recently written of ``records`` (by image file time, then tag)."""
    return max(records, key=lambda record: (record.modified, record.tag), default=None)


def latest_per_series(records: Iterable[ImageRecord]) -> list[ImageRecord]:
    """The latest refresh of each plot, sorted by series: what the dashboard shows.

    Without ``histogram_auto_number`` every series holds one tag and nothing is dropped.
    """
    series: dict[str, list[ImageRecord]] = {}
    for record in records:
        series.setdefault(record.series, []).append(record)
    return [latest(series[name]) for name in sorted(series)]
