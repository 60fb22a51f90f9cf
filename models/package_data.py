"""Data files inside installed packages (jieba's and jionlp's dictionaries), found without importing them."""
from __future__ import annotations

import importlib.util
from pathlib import Path


def package_file(package: str, relative: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"this needs the `{package}` package: pip install {package}")
    return Path(next(iter(spec.submodule_search_locations))) / relative
