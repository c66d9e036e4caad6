"""cnnlab.data re-exports every data module's public names, and no two modules claim the same name."""
from __future__ import annotations

import importlib
import pkgutil

import pytest

import cnnlab.data as data


def _data_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(data.__path__) if not m.name.startswith("_"))


def test_every_data_module_is_listed():
    assert sorted(data._SUBMODULES) == _data_modules()


def test_public_names_are_reachable_from_the_package_and_unique():
    owner: dict[str, str] = {}
    for sub in _data_modules():
        module = importlib.import_module(f"cnnlab.data.{sub}")
        for name in module.__all__:
            assert name not in owner, f"{name} is exported by both {owner[name]} and {sub}"
            owner[name] = sub
            assert getattr(data, name) is getattr(module, name)


def test_unknown_name_says_so():
    with pytest.raises(AttributeError, match="no attribute 'not_a_dataset'"):
        data.not_a_dataset  # noqa: B018
