"""MkDocs hook: the configuration reference, generated from ``conf/defaults.toml`` at build time.

``docs/configuration.md`` holds the marker ``<!-- configuration-reference -->``; this hook
replaces it with one table per section of ``conf/defaults.toml`` (the ``# --- Title ---``
comment lines), a row per key: name, type, default and meaning, with the allowed values
(choices, minimum) and the environment variable under the meaning. The rows come from :func:`maus_online.configuration.load_options`, the very function
go.py uses, so the reference cannot drift from the code. Registered in ``mkdocs.yml``::

    hooks:
      - docs/hooks/config_reference.py
"""
from __future__ import annotations

import html
import json
import os
import re
import tomllib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from maus_online.configuration import Option, load_options

MARKER = "<!-- configuration-reference -->"
#: The page that must carry the marker (relative to docs_dir).
PAGE = "configuration.md"
_SECTION = re.compile(r"^#\s*---\s*(?P<title>.+?)\s*-+\s*$")
_KEY = re.compile(r"^\[(?P<name>[A-Za-z0-9_-]+)\]\s*(#.*)?$")
# Characters that Markdown would read as markup in plain help text.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|])")


def defaults_file(config_file_path: str | os.PathLike[str]) -> Path:
    """The repository's ``conf/defaults.toml``, found beside ``mkdocs.yml``.

    Deliberately not :func:`maus_online.configuration.defaults_path`: that one honours
    ``$MAUS_CONF_DIR``, and the documentation must describe the shipped defaults, not a
    site's own copy.
    """
    return Path(config_file_path).resolve().parent / "conf" / "defaults.toml"


@contextmanager
def _environment_without(names: Iterable[str]) -> Iterator[None]:
    # load_options lets MAUS_BROKER_URL & co. replace the defaults. A build on a machine that
    # sets them would otherwise publish a password (or fail on a malformed value).
    saved = {name: os.environ.pop(name) for name in set(names) if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def shipped_options(path: Path) -> dict[str, Option]:
    """Every option of the defaults file ``path``, with the file's defaults (never the
    environment's values)."""
    with open(path, "rb") as stream:
        table = tomllib.load(stream)
    env_names = [entry["env"] for entry in table.values()
                 if isinstance(entry, dict) and "env" in entry]
    with _environment_without(env_names):
        return load_options(path)


def sections(path: Path) -> dict[str, str]:
    """Key name -> title of the ``# --- Title ---`` section it sits under in ``path``."""
    owner: dict[str, str] = {}
    title = "General"
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := _SECTION.match(line):
            title = match["title"]
        elif match := _KEY.match(line):
            owner[match["name"]] = title
    return owner


def _text(value: str) -> str:
    """Plain text as a table cell: no HTML, no Markdown markup, no cell break."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(value, quote=False))


def _code(text: str) -> str:
    """``text`` as a code span, with enough backticks around it to hold any inside."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def show_value(value: Any) -> str:
    """A default as a reader would write it in a TOML or YAML file: true, "", [..], {..}."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value else '""'
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def _allowed(option: Option) -> str:
    parts = []
    if option.choices is not None:
        parts.append(", ".join(_code(show_value(choice)) for choice in option.choices))
    if option.minimum is not None:
        parts.append(f"≥ {option.minimum:g}")
    return "; ".join(parts)


def option_row(option: Option) -> str:
    """One table row; the key's cell carries an anchor (``configuration.md#spill_count``).

    The allowed values and the environment variable go under the meaning, not in columns of
    their own: six columns do not fit the theme's page width, and most keys have neither.
    """
    notes = []
    if allowed := _allowed(option):
        notes.append(f"*Allowed:* {allowed}.")
    if option.env:
        notes.append(f"*Environment:* {_code(option.env)} replaces the default.")
    meaning = _text(option.help) + ("<br>" + " ".join(notes) if notes else "")
    cells = [
        f'<a id="{option.name}"></a>{_code(option.name)}',
        _code(option.type),
        _code(show_value(option.default)),
        meaning,
    ]
    return "| " + " | ".join(cells) + " |"


def reference_markdown(path: Path) -> str:
    """The whole reference for the defaults file ``path``: a table per section, in file order."""
    options = shipped_options(path)
    owner = sections(path)
    grouped: dict[str, list[Option]] = {}
    for option in options.values():
        grouped.setdefault(owner.get(option.name, "Other keys"), []).append(option)
    lines = [f"*Generated from `conf/defaults.toml` when these pages were built: "
             f"{len(options)} keys.*", ""]
    for title, members in grouped.items():
        lines += [f"### {_text(title)}", "",
                  "| key | type | default | meaning |",
                  "| --- | --- | --- | --- |"]
        lines += [option_row(option) for option in members]
        lines.append("")
    return "\n".join(lines)


def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: put the generated reference in place of the marker."""
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        # Losing the marker would silently drop the reference from the site: fail the build.
        from mkdocs.exceptions import PluginError

        raise PluginError(f"docs/{PAGE} must contain {MARKER!r}, where the configuration "
                          f"reference generated from conf/defaults.toml goes")
    reference = reference_markdown(defaults_file(config["config_file_path"]))
    return markdown.replace(MARKER, reference)
