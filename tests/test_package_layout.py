"""A module and a function never share a name: every submodule stays reachable as a module."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import cnnlab


def _packages() -> list[str]:
    names = ["cnnlab"]
    for info in pkgutil.walk_packages(cnnlab.__path__, "cnnlab."):
        if info.ispkg:
            names.append(info.name)
    return names


def test_no_package_attribute_hides_a_submodule():
    clashes = []
    for name in _packages():
        package = importlib.import_module(name)
        for sub in pkgutil.iter_modules(package.__path__):
            attr = getattr(package, sub.name, None)
            if attr is not None and not inspect.ismodule(attr):
                clashes.append(f"{name}.{sub.name} is a {type(attr).__name__}, and {sub.name}.py is a module")
    assert clashes == []


def test_walk_sees_the_renamed_modules():
    # guards the test above against walking nothing
    packages = _packages()
    assert {"cnnlab.models", "cnnlab.detection", "cnnlab.widgets"} <= set(packages)
    assert inspect.ismodule(importlib.import_module("cnnlab.devices"))
    assert callable(cnnlab.device) and callable(cnnlab.setup)
