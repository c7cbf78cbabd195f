"""The house's rules, read from the code: arrows point down and private names stay private."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
PACKAGES = ("webapp", "models_app", "flywheel_app")
ABOVE_CORE = ("models_app", "flywheel_app", "webapp.api", "webapp.accounts")


def _modules():
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, ast.parse(path.read_text(encoding="utf-8"))


def _imported(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                yield node.module, alias.name


def test_the_platform_layer_imports_no_app():
    found = []
    for path, tree in _modules():
        if not path.is_relative_to(REPO / "webapp" / "core"):
            continue
        for module, name in _imported(tree):
            full = f"{module}.{name}" if name else module
            if any(full == top or full.startswith(top + ".") for top in ABOVE_CORE):
                found.append(f"{path.relative_to(REPO)} imports {full}")
    assert found == []


def test_no_module_imports_another_modules_private_name():
    """`from x import _y` across files couples to what x may change freely; make it public."""
    found = []
    for path, tree in _modules():
        for module, name in _imported(tree):
            ours = module.split(".")[0] in PACKAGES
            if ours and name and name.startswith("_") and not name.startswith("__"):
                found.append(f"{path.relative_to(REPO)} imports {name} from {module}")
    assert found == []


def test_the_private_name_rule_sees_a_private_import_and_spares_an_alias():
    tree = ast.parse(
        "from models_app.services.endpoints import _model_version\n"
        "from webapp.core.background import tracking as _tracking\n"
        "import models_app.services.serving as _serving\n"
    )
    private = [name for _, name in _imported(tree) if name and name.startswith("_")]
    assert private == ["_model_version"]


# Where the kind of a model is decided: models_app/kinds.py. These layers read it from there.
KIND_READERS = ("models_app/services", "models_app/selectors", "models_app/jobs.py", "webapp/api")


def _model_kinds(nodes):
    return [
        n
        for n in nodes
        if isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Name)
        and n.value.id == "ModelKind"
    ]


def test_services_selectors_jobs_and_handlers_decide_no_kind_themselves():
    """No `kind == ModelKind.X` and no {ModelKind.X: ...} table outside the registry."""
    found = []
    for path, tree in _modules():
        where = str(path.relative_to(REPO))
        if not where.startswith(KIND_READERS):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                decided = _model_kinds([node.left, *node.comparators])
            elif isinstance(node, ast.Dict):
                decided = _model_kinds(node.keys)
            else:
                continue
            found += [f"{where}:{n.lineno} decides on ModelKind.{n.attr}" for n in decided]
    assert found == []
