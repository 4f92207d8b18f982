"""README's configuration table names exactly the environment variables the code reads.

The code is read, not imported: every `env.<type>("NAME")` / `env("NAME")` of django-environ,
`os.environ.get/setdefault/[...]`, `os.getenv` and `"NAME" in os.environ` in the application
packages and manage.py, plus the `${NAME}` of the Procfiles. A name read through a variable
must come from a literal tuple the code loops over; anything else fails the test, so no read
hides from it.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = [ROOT / "manage.py"] + [
    path
    for package in ("qaportal", "integrations", "scim", "sso")
    for path in (ROOT / package).rglob("*.py")
    if "migrations" not in path.parts
]
PROCFILES = [ROOT / "Procfile", ROOT / "Procfile.dev"]
ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


def _is_os_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def _reads_environment(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id == "env"
    if not isinstance(func, ast.Attribute):
        return False
    if isinstance(func.value, ast.Name) and func.value.id == "env":
        return True  # env.str(...), env.bool(...), env.db_url(...), ...
    if func.attr in {"get", "setdefault"} and _is_os_environ(func.value):
        return True
    return func.attr == "getenv" and isinstance(func.value, ast.Name) and func.value.id == "os"


class EnvironmentReads(ast.NodeVisitor):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.names: set[str] = set()
        self.unresolved: list[str] = []
        self.loop_values: dict[str, list[str]] = {}

    def visit_For(self, node: ast.For) -> None:
        # for _name in ("DATABASE_URL", "DJANGO_ALLOWED_HOSTS"): env.str(_name, ...)
        if isinstance(node.target, ast.Name) and isinstance(node.iter, ast.Tuple | ast.List):
            values = [e.value for e in node.iter.elts if isinstance(e, ast.Constant)]
            if len(values) == len(node.iter.elts):
                self.loop_values[node.target.id] = values
        self.generic_visit(node)

    def _name_of(self, node: ast.AST, where: ast.AST) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            self.names.add(node.value)
        elif isinstance(node, ast.Name) and node.id in self.loop_values:
            self.names.update(self.loop_values[node.id])
        else:
            self.unresolved.append(f"{self.path.relative_to(ROOT)}:{where.lineno}")

    def visit_Call(self, node: ast.Call) -> None:
        if _reads_environment(node) and node.args:
            self._name_of(node.args[0], node)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if _is_os_environ(node.value) and isinstance(node.ctx, ast.Load):
            self._name_of(node.slice, node)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        if any(isinstance(op, ast.In | ast.NotIn) for op in node.ops) and any(
            _is_os_environ(c) for c in node.comparators
        ):
            self._name_of(node.left, node)
        self.generic_visit(node)


def environment_reads() -> tuple[set[str], list[str]]:
    names: set[str] = set()
    unresolved: list[str] = []
    for path in CODE:
        visitor = EnvironmentReads(path)
        visitor.visit(ast.parse(path.read_text(), filename=str(path)))
        names |= visitor.names
        unresolved += visitor.unresolved
    for procfile in PROCFILES:
        names |= set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", procfile.read_text()))
    return names, unresolved


def documented_variables() -> set[str]:
    """The names in the first column of README's table under "## Configuration"."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names |= {
                name for name in re.findall(r"`([^`]+)`", first_cell) if ENV_NAME.fullmatch(name)
            }
    return names


def test_the_scanner_finds_the_reads_it_is_meant_to_find():
    names, unresolved = environment_reads()
    assert unresolved == [], "read the environment with a literal name"
    # One of each kind: env.str, env.db_url, os.environ.setdefault/get, a loop, a Procfile.
    assert {
        "DJANGO_SECRET_KEY",
        "DATABASE_URL",
        "DJANGO_SETTINGS_MODULE",
        "PROMETHEUS_MULTIPROC_DIR",
        "DJANGO_ALLOWED_HOSTS",
        "CELERY_BEAT_SCHEDULE_FILE",
    } <= names


def test_every_variable_the_code_reads_is_in_the_readme_table():
    names, _ = environment_reads()
    assert sorted(names - documented_variables()) == []


def test_every_variable_in_the_readme_table_is_read_by_the_code():
    names, _ = environment_reads()
    assert sorted(documented_variables() - names) == []
