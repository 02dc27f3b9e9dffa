"""Search over image records: by keyword, tag, run, and free text in tag and description.

The query arrives as a URL's query string, so a search can be shared by copying the address::

    /?keyword=TOF1&q=time+flight        the dashboard
    /api/images?keyword=TOF1&run=7     the JSON API

Parameters (all optional, all combined with AND):

* ``keyword`` -- a keyword the plot carries, compared without regard to case; repeat it to
  require several (``keyword=TOF&keyword=PID``);
* ``q`` -- words that must each appear, without regard to case, in the tag or the description;
* ``tag`` -- the exact tag, or the series (the tag without its auto-number suffix);
* ``run`` -- the run number.

No Django here: the views hand over ``dict(request.GET.lists())``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .image_store import ImageRecord

#: Cap on what a query string may ask for, so a crafted URL cannot make every poll expensive.
MAX_TERMS = 20


class QueryError(ValueError):
    """A query parameter has a value that cannot mean anything; the message says which."""


@dataclass(frozen=True)
class Query:
    """A parsed search; ``Query()`` matches everything."""

    keywords: tuple[str, ...] = ()
    text: str = ""
    tag: str = ""
    run: int | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]]) -> Query:
        """Parse query-string parameters (each name -> its list of values)."""
        keywords = tuple(k.strip() for k in params.get("keyword", ()) if k.strip())
        text = " ".join(value.strip() for value in params.get("q", ()) if value.strip())
        tags = [t.strip() for t in params.get("tag", ()) if t.strip()]
        runs = [r.strip() for r in params.get("run", ()) if r.strip()]
        if len(keywords) > MAX_TERMS or len(text.split()) > MAX_TERMS:
            raise QueryError(f"at most {MAX_TERMS} keywords and {MAX_TERMS} words of text")
        if len(tags) > 1 or len(runs) > 1:
            raise QueryError("give 'tag' and 'run' at most once each")
        run = None
        if runs:
            try:
                run = int(runs[0])
            except ValueError:
                raise QueryError(f"run {runs[0]!r} is not a run number (a whole number such "
                                 "as run=7)") from None
        return cls(keywords=keywords, text=text, tag=tags[0] if tags else "", run=run)

    @property
    def active(self) -> bool:
        """True when the query selects something (the page then says so)."""
        return bool(self.keywords or self.text or self.tag or self.run is not None)

    def params(self) -> list[tuple[str, str]]:
        """The query as query-string pairs again, for links and for the API the page polls."""
        pairs = [("keyword", keyword) for keyword in self.keywords]
        if self.text:
            pairs.append(("q", self.text))
        if self.tag:
            pairs.append(("tag", self.tag))
        if self.run is not None:
            pairs.append(("run", str(self.run)))
        return pairs

    def matches(self, record: ImageRecord) -> bool:
        if self.run is not None and record.run_number != self.run:
            return False
        if self.tag and self.tag not in (record.tag, record.series):
            return False
        if self.keywords:
            carried = {keyword.casefold() for keyword in record.keywords}
            if any(keyword.casefold() not in carried for keyword in self.keywords):
                return False
        if self.text:
            haystack = f"{record.tag}\n{record.description}".casefold()
            if any(word not in haystack for word in self.text.casefold().split()):
                return False
        return True

    def filter(self, records: Iterable[ImageRecord]) -> list[ImageRecord]:
        return [record for record in records if self.matches(record)]


def keyword_counts(records: Iterable[ImageRecord]) -> list[tuple[str, int]]:
    """Each keyword with the number of plots carrying it, sorted without regard to case;
    spellings that differ only in case count as one (the first seen names it)."""
    names: dict[str, str] = {}
    counts: dict[str, int] = {}
    for record in records:
        for folded, keyword in {keyword.casefold(): keyword for keyword in record.keywords}.items():
            names.setdefault(folded, keyword)
            counts[folded] = counts.get(folded, 0) + 1
    return [(names[key], counts[key]) for key in sorted(names)]
