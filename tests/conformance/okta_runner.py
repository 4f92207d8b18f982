"""A small replay of Okta's "SCIM 2.0 SPEC Test" (a Runscope export) against a SCIM server.

The suite (`shared/conformance/Okta-SCIM-20-SPEC-Test.json`, provenance in SOURCES.md there)
is a list of `steps`: requests with Runscope assertions and variable extractions, separated by
pauses. This runner evaluates them the way Runscope does:

- `{{name}}` in URLs, headers, bodies and expected values is replaced from the variables;
  Okta's initial script (not published with the export) sets the random ones, which
  `okta_variables` recreates as SOURCES.md describes them;
- `response_json` properties are paths such as `Resources[0].emails[0].value`; values are
  compared as Runscope compares them, as text (`equal` of JSON `true` and "true" holds);
- `pause` steps are not slept: they give Okta's hosted servers time to settle, and a local
  server answers each request only after its transaction committed;
- the one step script (the optional Groups test) is evaluated by `_groups_script`, a
  transcription of its JavaScript; an unknown script fails the run instead of being ignored.
"""

import hashlib
import json
import random
import re
import string
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

SPEC_FILE = "Okta-SCIM-20-SPEC-Test.json"
VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
MISSING = object()

# sha256 of the only script in the export (step "Optional Test: Verify Groups endpoint").
GROUPS_SCRIPT_SHA256 = "c9f901ae05222fcdd31c569eb0ed76abfb6592ce2ba8f34f05c06822e43581a5"


def load_spec(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def okta_variables(*, base_url: str, authorization: str, rng: random.Random) -> dict[str, str]:
    """The variables of Okta's initial script and environment (SOURCES.md lists them)."""
    given = "Runscope" + "".join(rng.choices(string.digits, k=3))
    family = (
        rng.choice(string.ascii_uppercase)
        + "".join(rng.choices(string.ascii_lowercase, k=8))
        + "".join(rng.choices(string.digits, k=3))
    )
    email = f"{given}{family}@atko.com"
    return {
        "SCIMBaseURL": base_url,
        "auth": authorization,
        "randomGivenName": given,
        "randomFamilyName": family,
        "randomEmail": email,
        "randomUsername": email,
        "randomUsernameCaps": email.upper(),
        "InvalidUserEmail": "abcdefgh@atko.com",
        "UserIdThatDoesNotExist": "010101001010101011001010101011",
    }


@dataclass
class AssertionResult:
    description: str
    passed: bool
    actual: Any


@dataclass
class StepResult:
    index: int
    note: str
    method: str
    url: str
    request_body: str | None
    status: int
    elapsed_ms: float
    response_body: str
    assertions: list[AssertionResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(a.passed for a in self.assertions)

    def describe(self) -> str:
        failed = [a for a in self.assertions if not a.passed]
        lines = [f"step {self.index} ({self.note}): {self.method} {self.url}"]
        if self.request_body:
            lines.append(f"  request body: {self.request_body}")
        body = " ".join(self.response_body.split())[:600]
        lines.append(f"  -> {self.status} in {self.elapsed_ms:.0f} ms: {body}")
        lines += [f"  FAILED {a.description} (actual: {a.actual!r})" for a in failed]
        return "\n".join(lines)


def substitute(text: str, variables: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in variables:
            raise KeyError(f"The suite uses {{{{{name}}}}}, which no step or script has set.")
        return variables[name]

    return VARIABLE.sub(replace, text)


def json_property(document: Any, path: str) -> Any:
    """`Resources[0].name.familyName` of a JSON document, or MISSING."""
    current = document
    for key, index in PATH_PART.findall(path):
        if key:
            if not isinstance(current, dict) or key not in current:
                return MISSING
            current = current[key]
        else:
            if not isinstance(current, list) or int(index) >= len(current):
                return MISSING
            current = current[int(index)]
    return current


def as_text(value: Any) -> str:
    """The text Runscope compares: JSON scalars as JSON writes them, strings as they are."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _is_empty(value: Any) -> bool:
    return value is MISSING or value is None or value in ("", [], {})


def evaluate(comparison: str, actual: Any, expected: str | None) -> bool:
    """Runscope's comparisons used by the suite."""
    if comparison == "not_empty":
        return not _is_empty(actual)
    if actual is MISSING:
        return False
    if comparison == "equal":
        return as_text(actual) == expected
    if comparison == "equal_number":
        try:
            return float(as_text(actual)) == float(expected or "nan")
        except ValueError:
            return False
    if comparison == "is_a_number":
        return isinstance(actual, int | float) and not isinstance(actual, bool)
    if comparison == "is_less_than":
        return float(as_text(actual)) < float(expected or "nan")
    if comparison == "has_value":
        return isinstance(actual, list) and expected in [as_text(v) for v in actual]
    if comparison == "contains":
        if isinstance(actual, list):
            return any(expected in as_text(v) for v in actual)
        return expected in as_text(actual)
    raise ValueError(f"Runscope comparison {comparison!r} is not implemented by this runner.")


def _groups_script(response_json: Any) -> tuple[bool, str]:
    """The Groups step's script, transcribed.

    var data = JSON.parse(response.body); var max = data.totalResults; var res = data.Resources;
    if (max === 0) assert("nogroups", ...);            // a truthy string: passes
    else if (max >= 1 && Array.isArray(res)) assert.ok(true, "Resources is of type Array");

    JSON.parse throws on a body that is not JSON, which fails the step.
    """
    if not isinstance(response_json, dict):
        return False, "body is not a JSON object"
    return True, f"totalResults={response_json.get('totalResults')!r}"


class OktaSpecRunner:
    """Runs the request steps of the suite in order with one HTTP client."""

    def __init__(self, spec: dict[str, Any], variables: dict[str, str], client: httpx2.Client):
        self.spec = spec
        self.variables = dict(variables)
        self.client = client

    def run(self) -> list[StepResult]:
        results = []
        for index, step in enumerate(self.spec["steps"]):
            if step.get("skipped") or step["step_type"] == "pause":
                continue
            if step["step_type"] != "request":
                raise ValueError(f"Step {index}: step type {step['step_type']!r} is unsupported.")
            results.append(self._run_request(index, step))
        return results

    def _run_request(self, index: int, step: dict[str, Any]) -> StepResult:
        try:
            url = substitute(step["url"], self.variables)
            headers = {
                name: substitute(", ".join(values), self.variables)
                for name, values in step.get("headers", {}).items()
            }
            body = substitute(step["body"], self.variables) if step.get("body") else None
        except KeyError as exc:
            # An earlier step failed to yield the id this one needs: fail it without sending.
            result = StepResult(
                index, step.get("note", ""), step["method"], step["url"], None, 0, 0, ""
            )
            result.assertions.append(AssertionResult(f"not sent: {exc.args[0]}", False, None))
            return result
        started = time.perf_counter()
        response = self.client.request(
            step["method"], url, headers=headers, content=body.encode() if body else None
        )
        elapsed_ms = (time.perf_counter() - started) * 1000
        try:
            document: Any = response.json()
        except ValueError:
            document = MISSING

        result = StepResult(
            index=index,
            note=step.get("note", ""),  # shown as written: "Get Users/{{id}}" names no variable
            method=step["method"],
            url=url,
            request_body=body,
            status=response.status_code,
            elapsed_ms=elapsed_ms,
            response_body=response.text,
        )
        for assertion in step.get("assertions", []):
            result.assertions.append(self._assert(assertion, response, document, elapsed_ms))
        for script in step.get("scripts", []):
            if not script.strip():
                continue
            digest = hashlib.sha256(script.encode()).hexdigest()
            if digest != GROUPS_SCRIPT_SHA256:
                raise ValueError(f"Step {index}: unknown script (sha256 {digest}); transcribe it.")
            passed, detail = _groups_script(document)
            result.assertions.append(AssertionResult("script: Groups list", passed, detail))
        for variable in step.get("variables", []):
            if variable["source"] != "response_json":
                raise ValueError(f"Step {index}: variable source {variable['source']!r}.")
            value = json_property(document, variable["property"])
            if value is not MISSING:
                self.variables[variable["name"]] = as_text(value)
        return result

    def _assert(
        self, assertion: dict, response: httpx2.Response, document: Any, elapsed_ms: float
    ) -> AssertionResult:
        source, comparison = assertion["source"], assertion["comparison"]
        expected = assertion.get("value")
        if expected is not None:
            expected = substitute(str(expected), self.variables)
        if source == "response_status":
            actual: Any = response.status_code
            description = f"status {comparison} {expected}"
        elif source == "response_time":
            actual = round(elapsed_ms)
            description = f"response time (ms) {comparison} {expected}"
        elif source == "response_json":
            prop = assertion["property"]
            actual = MISSING if document is MISSING else json_property(document, prop)
            description = f"json {prop} {comparison}" + (f" {expected!r}" if expected else "")
        else:
            raise ValueError(f"Runscope assertion source {source!r} is not implemented.")
        passed = evaluate(comparison, actual, expected)
        return AssertionResult(description, passed, None if actual is MISSING else actual)
