"""Shared helpers of the lecture-notebook generators in tools/: cells and a stable, output-free writer."""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
SETUP = "import cnnlab\n\ndevice = cnnlab.hello()"


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    return new_code_cell(text.strip("\n"))


def write(name: str, cells: list) -> Path:
    """Write ``notebooks/<name>`` without outputs; cell ids are stable ('NN-iii') so diffs stay small."""
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{Path(name).stem[:2]}-{i:03d}"
    path = ROOT / "notebooks" / name
    nbformat.validate(nb)
    path.write_text(nbformat.writes(nb) + "\n")
    return path
