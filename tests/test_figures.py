"""Every figure a notebook shows exists in img/ and is produced by cnnlab.figures."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cnnlab import figures

ROOT = Path(__file__).resolve().parents[1]
IMG_REF = re.compile(r"""(?:\]\(|src=["'])((?:\.\./)*img/[^)"'\s]+)""")


def _notebook_image_refs() -> list[tuple[Path, str]]:
    refs = []
    for nb in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in nb.parts:
            continue
        for cell in json.loads(nb.read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                refs += [(nb, m) for m in IMG_REF.findall("".join(cell["source"]))]
    return refs


def test_every_image_a_notebook_references_exists():
    missing = [f"{nb.relative_to(ROOT)} -> {ref}" for nb, ref in _notebook_image_refs()
               if not (nb.parent / ref).resolve().is_file()]
    assert not missing, "notebooks reference images that do not exist:\n" + "\n".join(missing)


def test_every_committed_figure_is_generated_by_code():
    registered = set(figures.load_all())
    on_disk = {p.stem for p in (ROOT / "img").glob("*.png")}
    orphans = on_disk - registered
    assert not orphans, f"img/ holds PNGs no cnnlab.figures function makes: {sorted(orphans)}"
    missing = registered - on_disk
    assert not missing, f"figures registered but not committed (run `make figures`): {sorted(missing)}"


def test_build_writes_png(tmp_path):
    names = sorted(figures.load_all())
    if not names:
        pytest.skip("no figures registered yet")
    written = figures.build(names[:2], tmp_path)
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_figure_names_are_rejected():
    with pytest.raises(ValueError, match="bare file stems"):
        figures.figure("img/x.png")
    with pytest.raises(KeyError, match="unknown figure"):
        figures.build(["no_such_figure"])


def test_lecture_08_figures_are_registered():
    assert {"transposed_conv_overlaps", "unet_layout", "triplet_idea"} <= set(figures.load_all())
