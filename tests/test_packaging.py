"""The package layout of DESIGN.md §2: folder → fewlat.* mapping, __all__, py.typed."""

from __future__ import annotations

import importlib

import pytest
import tomllib

from tests.conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SETUP = PYPROJECT["tool"]["setuptools"]
MAPPED = {
    "fewlat.v1": "proto/fewlat/v1",
    "fewlat.spaces": "spaces",
    "fewlat.meta": "meta",
    "fewlat.hwdesc": "hwdesc",
    "fewlat.service": "service",
    "fewlat.clients": "clients",
}


def test_top_level_folders_map_to_fewlat_names() -> None:
    for name, folder in MAPPED.items():
        assert SETUP["package-dir"][name] == folder


def test_every_package_folder_is_listed() -> None:
    """find() does not follow package-dir, so a new subpackage must be listed by hand."""
    listed = set(SETUP["packages"])
    for name, folder in {"fewlat": "fewlat", **MAPPED}.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            sub = ".".join((name, *rel.parts)) if rel.parts else name
            if "__pycache__" not in rel.parts:
                assert sub in listed, f"{sub} ({init.parent}) is missing from pyproject packages"


@pytest.mark.parametrize("package", sorted(SETUP["packages"]))
def test_public_packages_declare_all(package: str) -> None:
    module = importlib.import_module(package)
    assert isinstance(module.__all__, list | tuple)
    for name in module.__all__:
        assert hasattr(module, name), f"{package}.__all__ names missing {name!r}"


def test_py_typed_ships() -> None:
    assert (REPO / "fewlat" / "py.typed").is_file()
    assert "py.typed" in SETUP["package-data"]["fewlat"]


def test_console_scripts() -> None:
    scripts = PYPROJECT["project"]["scripts"]
    assert scripts == {
        "fewlat": "fewlat.service.cli:main",
        "fewlat-client": "fewlat.clients.cli:main",
    }


def test_exception_tree_has_one_root() -> None:
    import fewlat.exceptions as exc

    for name in exc.__all__:
        obj = getattr(exc, name)
        if isinstance(obj, type):
            assert issubclass(obj, exc.FewlatError)


#: DESIGN.md §2: dependencies point one way (fewlat core, exceptions and v1 are shared)
_MAY_NOT_IMPORT = {
    "spaces": ("fewlat.meta", "fewlat.hwdesc", "fewlat.service", "fewlat.clients"),
    "meta": ("fewlat.hwdesc", "fewlat.service", "fewlat.clients", "fewlat.v1"),
    "hwdesc": ("fewlat.service", "fewlat.clients", "fewlat.v1"),
    "service": ("fewlat.clients",),
    # README's one addition to §2: the runners check bytes with meta.graph.load_model and
    # `fewlat-client measure` builds spaces' archs into meta.tables; nothing else of meta
    "clients": (
        "fewlat.hwdesc",
        "fewlat.service",
        "fewlat.meta.features",
        "fewlat.meta.predictor",
        "fewlat.meta.evaluation",
        "fewlat.meta.metrics",
    ),
}
#: the one known exception: ``fewlat demo`` drives the real client against an
#: in-process server (README's main job); see the issue-5 note
_ALLOWED = {"service/cli/_demo.py"}


@pytest.mark.parametrize("folder", sorted(_MAY_NOT_IMPORT))
def test_dependencies_point_one_way(folder: str) -> None:
    import ast

    found = []
    for path in sorted((REPO / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            found += [
                f"{path.relative_to(REPO)} imports {n}"
                for n in names
                if n.startswith(_MAY_NOT_IMPORT[folder])
                and str(path.relative_to(REPO)) not in _ALLOWED
            ]
    assert not found, found
