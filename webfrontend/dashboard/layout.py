"""The dashboard's layout: which plots appear, in what order, in which groups.

A control room changes the layout without touching code, with a TOML or JSON file named by the
environment variable ``MAUS_DASHBOARD_LAYOUT`` (Django setting of the same name); the default
is ``default_layout.toml`` beside this module::

    title = "MAUS Online"                 # the page's heading
    hide = ["tof_nsp"]                    # never shown (tag or series)

    [[groups]]                            # groups appear in this order
    title = "Time of flight"
    tags = ["tof_time_01", "tof_time_12"] # these first, in this order (tag or series) ...
    keywords = ["time of flight"]         # ... then every other plot with one of these keywords

    [others]                              # the plots no group claims
    show = true
    title = "Other plots"

A plot goes to the first group that claims it. Tags name a series too, so ``tof_time_01``
also places ``tof_time_01_000007`` when the reducers auto-number their tags. No Django here:
the settings hand over the parsed mapping and :class:`Layout` checks it.
"""
from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .image_store import ImageRecord

DEFAULT_LAYOUT_FILE = Path(__file__).with_name("default_layout.toml")


class LayoutError(ValueError):
    """The layout cannot be used; the message names the file or key and what to write."""


@dataclass(frozen=True)
class GroupRule:
    """One group of the layout: the tags it lists (in order) and the keywords it collects."""

    title: str
    tags: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    """A group as shown: its title and its plots, in display order."""

    title: str
    records: tuple[ImageRecord, ...]


@dataclass(frozen=True)
class Layout:
    title: str = "MAUS Online"
    groups: tuple[GroupRule, ...] = ()
    hide: frozenset[str] = frozenset()
    show_others: bool = True
    others_title: str = "Other plots"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Layout:
        """Check a parsed layout file; raises LayoutError naming the first bad key."""
        if not isinstance(data, Mapping):
            raise LayoutError(f"the layout is {type(data).__name__}; expected a table/object "
                              "with 'groups' and optionally 'title', 'hide' and 'others'")
        unknown = set(data) - {"title", "groups", "hide", "others"}
        if unknown:
            raise LayoutError(f"unknown layout key(s) {', '.join(sorted(unknown))}; the keys "
                              "are title, groups, hide and others")
        groups = data.get("groups", [])
        if not isinstance(groups, list):
            raise LayoutError("'groups' must be a list of tables, each with a 'title'")
        rules = tuple(_group_rule(index, group) for index, group in enumerate(groups))
        titles = [rule.title for rule in rules]
        duplicates = sorted({title for title in titles if titles.count(title) > 1})
        if duplicates:
            raise LayoutError(f"group title(s) {', '.join(map(repr, duplicates))} used twice; "
                              "each group needs its own title")
        others = data.get("others", {})
        if not isinstance(others, Mapping) or set(others) - {"show", "title"}:
            raise LayoutError("'others' must be a table with 'show' (true/false) and 'title'")
        show = others.get("show", True)
        if not isinstance(show, bool):
            raise LayoutError(f"others.show is {show!r}; write true or false")
        return cls(title=_text(data, "title", "MAUS Online"), groups=rules,
                   hide=frozenset(_strings(data, "hide")), show_others=show,
                   others_title=_text(others, "title", "Other plots", "others."))

    def arrange(self, records: Iterable[ImageRecord]) -> list[Group]:
        """Place the records into the layout's groups; empty groups are left out."""
        pending = {record.tag: record for record in records
                   if record.tag not in self.hide and record.series not in self.hide}

        def take(wanted: Callable[[ImageRecord], bool]) -> list[ImageRecord]:
            """Remove and return, in tag order, the pending records ``wanted`` accepts."""
            return [pending.pop(tag) for tag in sorted(pending) if wanted(pending[tag])]

        groups = []
        for rule in self.groups:
            chosen = []
            for name in rule.tags:
                chosen += take(lambda record, name=name: name in (record.tag, record.series))
            keywords = {keyword.casefold() for keyword in rule.keywords}
            chosen += take(lambda record, keywords=keywords: any(
                keyword.casefold() in keywords for keyword in record.keywords))
            if chosen:
                groups.append(Group(rule.title, tuple(chosen)))
        if self.show_others and pending:
            groups.append(Group(self.others_title, tuple(pending[tag] for tag in sorted(pending))))
        return groups


def read_layout_file(path: str | Path) -> dict[str, Any]:
    """Parse a layout file, TOML (``.toml``) or JSON (any other suffix)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LayoutError(f"cannot read layout file {str(path)!r}: "
                          f"{getattr(exc, 'strerror', None) or exc}") from exc
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        kind = "TOML" if path.suffix == ".toml" else "JSON"
        raise LayoutError(f"layout file {str(path)!r} is not valid {kind}: {exc}") from exc
    Layout.from_mapping(data)  # refuse a bad layout when it is read, naming the file
    return data


def _group_rule(index: int, group: Any) -> GroupRule:
    where = f"groups[{index}]"
    if not isinstance(group, Mapping):
        raise LayoutError(f"{where} must be a table with 'title' and 'tags' and/or 'keywords'")
    unknown = set(group) - {"title", "tags", "keywords"}
    if unknown:
        raise LayoutError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; a group has "
                          "title, tags and keywords")
    if not isinstance(group.get("title"), str) or not group["title"].strip():
        raise LayoutError(f"{where} needs a 'title' (a non-empty string)")
    rule = GroupRule(title=group["title"].strip(), tags=tuple(_strings(group, "tags", where)),
                     keywords=tuple(_strings(group, "keywords", where)))
    if not rule.tags and not rule.keywords:
        raise LayoutError(f"{where} ({rule.title!r}) chooses no plot: give it 'tags' and/or "
                          "'keywords'")
    return rule


def _strings(data: Mapping[str, Any], key: str, where: str = "") -> Sequence[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        name = f"{where}.{key}" if where else key
        raise LayoutError(f"{name} must be a list of strings, e.g. {key} = [\"tof_time_01\"]")
    return value


def _text(data: Mapping[str, Any], key: str, default: str, where: str = "") -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise LayoutError(f"{where}{key} is {value!r}; expected a string")
    return value
