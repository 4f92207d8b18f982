"""The registry of export kinds, and the CSV encoding every export shares."""

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ExportKind:
    """One exportable list of a company's data.

    `rows(company=, params=)` yields the cells of each row, in `header` order, reading in SQL
    chunks (never the whole list in memory); `count(company=, params=, limit=)` counts the
    rows (at most `limit`, so deciding "small or large" stays cheap); `page_url(params)` is
    the page the export was started from. `params` is JSON (stored on the job), validated
    by the view that starts the export; `param_labels` names its keys for people.
    """

    name: str
    label: str  # "Provisioning activity": the status page, the audit trail
    filename_prefix: str  # "provisioning-activity" -> provisioning-activity-20261120-0930.csv
    header: Sequence[str]
    rows: Callable[..., Iterable[Sequence[object]]]
    count: Callable[..., int]
    page_url: Callable[[dict], str]
    param_labels: Mapping[str, str] = field(default_factory=dict)

    def describe(self, params: dict) -> list[tuple[str, str]]:
        """The non-blank params in words: [("Outcome", "failed")]."""
        return [
            (self.param_labels.get(name, name), str(value))
            for name, value in params.items()
            if value
        ]


_kinds: dict[str, ExportKind] = {}


def export_kind_register(kind: ExportKind) -> None:
    """Make `kind` exportable; registering the same name again replaces it (a re-run ready())."""
    _kinds[kind.name] = kind


def export_kind_get(name: str) -> ExportKind:
    """The registered kind called `name`; LookupError for an unknown one."""
    try:
        return _kinds[name]
    except KeyError:
        raise LookupError(f"No export kind {name!r} is registered.") from None


# A cell starting with one of these is a formula to a spreadsheet.
_FORMULA_STARTS = frozenset("=+-@\t\r")


def csv_safe(value: object) -> object:
    """A cell a spreadsheet shows as text: one starting like a formula gets a quote first.

    A userName or an error detail comes from the identity provider, so "=HYPERLINK(...)"
    must not run when an admin opens the export (OWASP, CSV injection).
    """
    if isinstance(value, str) and value[:1] in _FORMULA_STARTS:
        return "'" + value
    return value


# Rows a streamed CSV export writes per chunk (a web worker's memory stays small).
EXPORT_CHUNK_SIZE = 2000


def csv_chunks(
    *, header: Sequence[str], rows: Iterable[Sequence[object]], rows_per_chunk: int
) -> Iterator[str]:
    """The CSV text of an export: the header line, then `rows_per_chunk` rows at a time.

    Every cell goes through csv_safe (inlined: it runs for every cell of every row).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # A BOM, so that Excel reads the UTF-8 of names such as "Zoë" correctly.
    buffer.write("\ufeff")
    writer.writerow(header)
    yield buffer.getvalue()
    chunk: list[list[object]] = []
    formula_starts = _FORMULA_STARTS
    for cells in rows:
        chunk.append(
            [
                "'" + cell if cell.__class__ is str and cell[:1] in formula_starts else cell
                for cell in cells
            ]
        )
        if len(chunk) >= rows_per_chunk:
            yield _encoded(buffer, writer, chunk)
            chunk = []
    if chunk:
        yield _encoded(buffer, writer, chunk)


def _encoded(buffer: io.StringIO, writer, rows: list[list[object]]) -> str:
    buffer.seek(0)
    buffer.truncate()
    writer.writerows(rows)
    return buffer.getvalue()


def export_filename(kind: ExportKind, *, stamp: str) -> str:
    return f"{kind.filename_prefix}-{stamp}.csv"
