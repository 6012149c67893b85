"""The package's layers: no module imports one from a layer above its own.

The layering is written here, once; the docs' developer page describes it.
Every module of the package must have a layer, so a new module is placed
on purpose. Imports inside functions count as much as those at the top.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fer_sklearn"

#: lowest first: each layer may import its own and those before it
LAYERS = {
    # files (FER2013, the shipped models), labels, checks: no torch
    "data": ["datasets", "pretrained", "_labels", "_label_merger", "_validation", "_metrics",
             "_shipped"],
    # torch modules and what they are stored as: no scikit-learn
    "networks": ["_networks", "networks", "_augment", "_checkpoints"],
    # the skorch estimators, their callbacks and recipes
    "estimators": ["_training", "_distillation", "_persistence", "_base", "_classifiers",
                   "_callbacks", "callbacks", "_recipes"],
    # ONNX graphs and the runtime that predicts with them; the shipped models
    "engine": ["_onnx", "_runtime", "_engine", "_pretrained"],
    # photos, videos and streams
    "media": ["_faces", "_sources", "_tracking", "_parallel", "_analysis", "_dask", "_analyze",
              "_annotate", "_live"],
    # what users call directly
    "interface": ["plotting", "cli", "__init__"],
}
LEVEL = {name: level for level, names in enumerate(LAYERS.values()) for name in names}
LAYER_NAMES = list(LAYERS)

#: the most lines a module may have (one idea per module)
MAX_LINES = 500


def modules():
    """(dotted name below fer_sklearn, path) of every module of the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        yield ".".join(parts), path


def layer_of(name):
    """The layer of a module below fer_sklearn: its own entry, else its package's."""
    for key in (name, name.split(".")[0]):
        if key in LEVEL:
            return LEVEL[key]
    raise KeyError(name)


def imported(name, path):
    """The modules of fer_sklearn that ``path`` imports, as dotted names below it."""
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    if name == "__init__":
        package = []
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("fer_sklearn."):
                    found.add(alias.name[len("fer_sklearn."):])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
            elif node.module and node.module.split(".")[0] == "fer_sklearn":
                base = []
            else:
                continue
            target = base + (node.module.split(".") if node.module else [])
            if target and target[0] == "fer_sklearn":
                target = target[1:]
            if node.module is None or not target:
                # from . import x: x is a module, or a name of the package's __init__
                for alias in node.names:
                    dotted = base + [alias.name]
                    is_module = (PACKAGE.joinpath(*dotted).with_suffix(".py").exists()
                                 or PACKAGE.joinpath(*dotted).is_dir())
                    found.add(".".join(dotted if is_module else base) or "__init__")
            else:
                found.add(".".join(target))
    return found


ALL = list(modules())


def test_every_module_has_a_layer():
    missing = []
    for name, _ in ALL:
        try:
            layer_of(name)
        except KeyError:
            missing.append(name)
    assert not missing, f"give these modules a layer in LAYERS: {missing}"


@pytest.mark.parametrize("name,path", ALL, ids=[name for name, _ in ALL])
def test_no_module_imports_from_a_layer_above(name, path):
    own = layer_of(name)
    above = sorted(f"{other} ({LAYER_NAMES[layer_of(other)]})"
                   for other in imported(name, path) if layer_of(other) > own)
    assert not above, (f"{name} ({LAYER_NAMES[own]}) imports from a layer above it: "
                       f"{above}")


def test_the_import_check_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from ._analyze import analyze\n    from . import cli\n"
                      "    from . import load_fer2013\n")
    assert imported("_metrics", source) == {"_analyze", "cli", "__init__"}


@pytest.mark.parametrize("name,path", ALL, ids=[name for name, _ in ALL])
def test_modules_stay_small(name, path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines: split it by concern"
