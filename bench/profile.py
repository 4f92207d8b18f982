"""Summarise py-spy's raw (collapsed) stacks of the gunicorn workers into hot spots.

`python -m bench.profile var/bench/profile-create.txt` prints, over the samples taken while a
worker was busy, the share of time spent inside each function (inclusive) and in its own code
(self), and a breakdown by area (django-scim2, our scim/ app, the ORM, the database driver...).
`bench.run --profile CYCLE` records the file and prints this summary.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^():]*)(?::\d+)?\)$")

# First match wins, tried from the innermost frame outwards.
AREAS = [
    ("database wait (psycopg)", ("/psycopg/",)),
    ("json", ("/json/",)),
    ("scim2-filter-parser", ("/scim2_filter_parser/",)),
    ("django-scim2", ("/django_scim/",)),
    ("our scim/ app", ("/scim/",)),
    ("integrations (keys, activity log)", ("/integrations/",)),
    ("qaportal.accounts", ("/qaportal/accounts/",)),
    ("bench ceiling", ("/bench/ceiling/",)),
    ("django ORM / SQL compiler", ("/django/db/",)),
    ("django templates", ("/django/template/",)),
    ("django http, urls, middleware", ("/django/",)),
    ("gunicorn", ("/gunicorn/",)),
]


def frame_key(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip(), ""
    # py-spy names files relative to sys.path ("django/db/..."); a leading "/" lets the area
    # markers match whole directory names.
    return match["function"], "/" + match["file"].lstrip("/")


def short_file(path: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path.lstrip("/")


def is_fixable(path: str) -> bool:
    markers = ("/scim/", "/django_scim/", "/scim2_filter_parser/", "/integrations/", "/qaportal/")
    return any(marker in path for marker in markers)


def area_of(frames: list[tuple[str, str]]) -> str:
    for _function, path in reversed(frames):
        for area, markers in AREAS:
            if any(marker in path for marker in markers):
                return area
    return "other (stdlib, interpreter)"


def summarise(path: Path, top: int = 25) -> str:
    inclusive: Counter[tuple[str, str]] = Counter()
    own: Counter[tuple[str, str]] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame_key(frame) for frame in stack.split(";")]
        # Only samples of a request being served: a worker waiting in accept() is idle.
        if not any(function.endswith("handle_request") for function, _ in frames):
            continue
        total += count
        for key in set(frames):
            inclusive[key] += count
        own[frames[-1]] += count
        areas[area_of(frames)] += count
    if not total:
        return f"{path}: no request samples\n"

    def rows(counter: Counter) -> list[str]:
        return [
            f"  {100 * count / total:5.1f}%  {function}  ({short_file(file)})"
            for (function, file), count in counter.most_common(top)
        ]

    lines = [f"{path}: {total} samples of busy workers", "", "By area (innermost frame):"]
    lines += [f"  {100 * n / total:5.1f}%  {area}" for area, n in areas.most_common()]
    lines += ["", "Inclusive, our code and the SCIM libraries (time inside and below):"]
    lines += rows(Counter({k: v for k, v in inclusive.items() if is_fixable(k[1])}))
    lines += ["", "Self (time in the function's own code):"]
    lines += rows(own)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    for argument in sys.argv[1:] or ["var/bench/profile-create.txt"]:
        print(summarise(Path(argument)))
