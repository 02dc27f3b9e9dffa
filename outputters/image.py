"""OutputPyImage: image documents written as image files and JSON sidecars for the front-end.

Consumes every document the merge side hands over; saves those with an ``image`` object (the
image documents of the histogram reducers, docs/histograms.md) and ignores the rest (spills,
counts). For an image with tag ``T`` and type ``png`` it writes, in ``image_directory``:

* ``<image_file_prefix>T.png``  -- the decoded image;
* ``<image_file_prefix>T.json`` -- the document without ``data``, plus ``image_file`` (the
  image's file name): the metadata, keywords and histograms the front-end shows and searches.

Each file is written to a temporary file in the same directory and renamed over the old one
(``os.replace`` is atomic on POSIX), so a web server reading the directory never sees half a
file; the image is replaced before its sidecar, so a sidecar never names a missing image.
An image document without tag, type or data, or whose tag is not a plain file name, is
refused with an error naming what is wrong.

At each run's end (:meth:`OutputPyImage.run_ended`) the last image and sidecar of every plot
written this run are kept in the run archive (:mod:`outputters.archive`, which says why this
output owns it); a failure there is reported and leaves ``image_directory`` as it is.

The run's quality (:mod:`outputters.quality_summary`) is this output's too: each saved
document's ``image.quality`` is folded into the summary, which is written as ``quality.json``
(atomically, like the images) whenever a document changed it and at the run's end, when it
also goes into the archive's ``run.json``. It starts empty at each run's birth; a run whose
plots carry no quality (no checks configured) writes none.
"""
from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from pathlib import Path
from typing import Any

import orjson

from maus_online.catalogue import say
from maus_online.errors import ConfigurationError, MausError, ModuleLifecycleError
from maus_online.modules import Config, OutputBase
from maus_online.run_record import RunRecord

from .archive import ArchivedPlot, RunArchive
from .quality_summary import QUALITY_FILE, QualityError, QualitySummary

#: What a tag may be: a plain file name (letters, digits, ``_ . + -``), never a path, since
#: tags arrive in documents and become file names in a directory a web server publishes.
TAG_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,199}")
TYPE_PATTERN = re.compile(r"[a-z0-9]{1,8}")
REQUIRED = ("tag", "image_type", "data")


class ImageDocumentError(MausError):
    """An image document cannot be written: the message names the missing or bad field."""


class OutputPyImage(OutputBase):
    """Writes each image document's image and its JSON sidecar into ``image_directory``."""

    spill_fields = ()  # spills are ignored: no spill field is read

    def __init__(self) -> None:
        self.directory: Path | None = None
        self.prefix = ""
        self.archive: RunArchive | None = None
        #: The files of each plot written this run, by tag: what the archive keeps.
        self.plots: dict[str, ArchivedPlot] = {}
        #: The run's quality so far: what quality.json says.
        self.quality = QualitySummary()

    def birth(self, config: Config) -> None:
        directory = Path(config["image_directory"])
        if directory.exists() and not directory.is_dir():
            raise ConfigurationError(f"configuration key 'image_directory' is {str(directory)!r}, "
                                     "which is a file; name a directory (it is created if missing)")
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"configuration key 'image_directory': cannot create "
                                     f"{str(directory)!r}: {exc.strerror or exc}") from exc
        prefix = config["image_file_prefix"]
        if "/" in prefix or os.sep in prefix:
            raise ConfigurationError(f"configuration key 'image_file_prefix' is {prefix!r}; it "
                                     "is part of a file name and cannot hold a path separator")
        self.archive = RunArchive.from_config(config)
        self.directory, self.prefix, self.plots = directory, prefix, {}
        self.quality = QualitySummary()

    def save(self, document: dict[str, Any]) -> None:
        image = document.get("image")
        if image is None:
            return
        if self.directory is None:
            raise ModuleLifecycleError("OutputPyImage.save() called outside birth() ... death()")
        data = self._check(image)
        name = f"{self.prefix}{image['tag']}"
        image_file = f"{name}.{image['image_type']}"
        sidecar = {key: value for key, value in document.items() if key != "image"}
        sidecar["image"] = {key: value for key, value in image.items() if key != "data"}
        sidecar["image"]["image_file"] = image_file
        write_atomically(self.directory / image_file, data)
        write_atomically(self.directory / f"{name}.json", orjson.dumps(
            sidecar, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
        self.plots[image["tag"]] = ArchivedPlot(image_file, f"{name}.json")
        try:
            changed = self.quality.fold(document)
        except QualityError:
            self._write_quality()  # the plot no longer counts: say so before reporting it
            raise
        if changed:
            self._write_quality()

    def run_ended(self, run: RunRecord) -> None:
        """Keep the run's last image and sidecar of each plot in the archive (ArchiveError,
        MAUS-117/118, if that fails: the files in image_directory are untouched)."""
        if self.directory is None or self.archive is None:
            raise ModuleLifecycleError("OutputPyImage.run_ended() called outside birth() ... "
                                       "death()")
        if not self.quality.seen:  # no plot carried quality: nothing to sum up
            self.archive.keep(run, self.plots, self.directory)
            return
        self.quality.run_number = run.run_number
        quality = self.quality.document()
        try:
            self._write_quality(quality)
        finally:  # the archive keeps the run's quality even if quality.json could not be written
            self.archive.keep(run, self.plots, self.directory, quality=quality)

    def _write_quality(self, summary: dict[str, Any] | None = None) -> None:
        """Write quality.json: ``summary``, or the summary as it stands. MAUS-181 (a
        QualityError) if the file cannot be written: the old one stays, whole."""
        if self.directory is None:
            raise ModuleLifecycleError("OutputPyImage wrote quality.json outside birth() ... "
                                       "death()")
        summary = self.quality.document() if summary is None else summary
        path = self.directory / QUALITY_FILE
        try:
            write_atomically(path, orjson.dumps(
                summary, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
        except OSError as exc:
            raise QualityError(say("MAUS-181", path=str(path),
                                   reason=exc.strerror or str(exc))) from exc

    def death(self) -> None:
        self.directory, self.archive, self.plots = None, None, {}
        self.quality = QualitySummary()

    @staticmethod
    def _check(image: Any) -> bytes:
        """The decoded image data, or ImageDocumentError saying what is missing or wrong."""
        if not isinstance(image, dict):
            raise ImageDocumentError(f"image document refused: 'image' is "
                                     f"{type(image).__name__}, expected an object")
        missing = [key for key in REQUIRED if not image.get(key)]
        if missing:
            tag = image.get("tag") or "(no tag)"
            raise ImageDocumentError(f"image document {tag} refused: no {', '.join(missing)}")
        tag, image_type, data = (image[key] for key in REQUIRED)
        if not isinstance(tag, str) or not TAG_PATTERN.fullmatch(tag):
            raise ImageDocumentError(f"image document refused: tag {tag!r} is not a plain file "
                                     "name (letters, digits, _ . + -, at most 200)")
        if not isinstance(image_type, str) or not TYPE_PATTERN.fullmatch(image_type):
            raise ImageDocumentError(f"image document {tag} refused: image_type "
                                     f"{image_type!r} is not a file suffix such as png")
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, TypeError, ValueError) as exc:
            raise ImageDocumentError(f"image document {tag} refused: data is not base64 "
                                     f"({exc})") from None


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file in the same directory and a
    rename, so a reader sees the old file or the new one, never a part."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # os.open with 0o666 lets the umask decide the mode, as for any file: mkstemp's 0o600
    # would hide the images from a web server running as another user.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(content)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
