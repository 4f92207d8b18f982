"""`attributes` and `excludedAttributes` query parameters (RFC 7644 §3.4.2.5 and §3.9)."""

from dataclasses import dataclass

from django.http import HttpRequest

from .constants import MAX_PROJECTION_ATTRIBUTES
from .errors import InvalidPath, InvalidValue, TooMany
from .patch import parse_path

# Returned whatever the client asks (RFC 7643 §7: "returned" is "always").
_ALWAYS = ("schemas", "id")


@dataclass(frozen=True)
class Projection:
    attributes: tuple[tuple[str | None, str, str | None], ...] = ()
    excluded: tuple[tuple[str | None, str, str | None], ...] = ()

    @classmethod
    def from_request(cls, request: HttpRequest) -> "Projection":
        return cls.from_values(request.GET.get("attributes"), request.GET.get("excludedAttributes"))

    @classmethod
    def from_values(cls, attributes: str | None, excluded: str | None) -> "Projection":
        """From comma-separated names; an empty value (`attributes=`) asks for nothing."""
        return cls(attributes=_parse(attributes), excluded=_parse(excluded))

    @property
    def is_default(self) -> bool:
        return not self.attributes and not self.excluded

    def wants(self, attribute: str) -> bool:
        """Whether a top-level core attribute (lower case) will be returned."""
        if self.attributes:
            return any(attr == attribute for _, attr, _ in self.attributes)
        return not any(attr == attribute and sub is None for _, attr, sub in self.excluded)

    def apply(self, doc: dict, *, core_urn: str) -> dict:
        if self.attributes:
            result = {key: doc[key] for key in _ALWAYS if key in doc}
            for urn, attr, sub in self.attributes:
                _copy(doc, result, _container_key(doc, urn, core_urn), attr, sub)
            return result
        if self.excluded:
            result = {
                key: (dict(value) if isinstance(value, dict) else value)
                for key, value in doc.items()
            }
            for urn, attr, sub in self.excluded:
                _drop(result, _container_key(doc, urn, core_urn), attr, sub)
            return result
        return doc


def _parse(raw: str | None) -> tuple[tuple[str | None, str, str | None], ...]:
    if not raw:
        return ()
    items = raw.split(",", MAX_PROJECTION_ATTRIBUTES + 1)
    if len(items) > MAX_PROJECTION_ATTRIBUTES:
        # Each name is matched against every resource of the page: the cost is bounded here.
        raise TooMany(
            f"attributes and excludedAttributes may name at most {MAX_PROJECTION_ATTRIBUTES} "
            "attributes."
        )
    parsed = []
    for item in items:
        if not item.strip():
            continue
        try:
            path = parse_path(item)
        except InvalidPath:
            raise InvalidValue(f"Invalid attribute name '{item.strip()}'.") from None
        parsed.append((path.urn, path.attribute, path.sub_attribute))
    return tuple(parsed)


def _container_key(doc: dict, urn: str | None, core_urn: str) -> str | None:
    """None for the resource itself, else the key of the extension object in `doc`."""
    if urn is None or urn == core_urn.lower():
        return None
    return next((key for key in doc if key.lower() == urn), urn)


def _find(mapping: dict, name: str) -> str | None:
    return next((key for key in mapping if key.lower() == name), None)


def _copy(doc: dict, result: dict, container: str | None, attr: str, sub: str | None) -> None:
    source = doc if container is None else doc.get(container)
    if not isinstance(source, dict):
        return
    target = result if container is None else result.setdefault(container, {})
    if container is not None and not attr:
        target.update(source)
        return
    key = _find(source, attr)
    if key is None:
        return
    value = source[key]
    if sub is None:
        target[key] = value
    elif isinstance(value, dict):
        sub_key = _find(value, sub)
        if sub_key is not None:
            target.setdefault(key, {})[sub_key] = value[sub_key]
    elif isinstance(value, list):
        target[key] = [
            {k: v for k, v in item.items() if k.lower() == sub}
            for item in value
            if isinstance(item, dict)
        ]


def _drop(result: dict, container: str | None, attr: str, sub: str | None) -> None:
    target = result if container is None else result.get(container)
    if not isinstance(target, dict):
        return
    if container is not None and not attr:
        result.pop(container, None)
        return
    key = _find(target, attr)
    if key is None or key in _ALWAYS:
        return
    if sub is None:
        target.pop(key)
    elif isinstance(target[key], dict):
        target[key] = {k: v for k, v in target[key].items() if k.lower() != sub}
    elif isinstance(target[key], list):
        target[key] = [
            {k: v for k, v in item.items() if k.lower() != sub}
            for item in target[key]
            if isinstance(item, dict)
        ]
