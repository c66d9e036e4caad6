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
    names = sorted(figures.load_all())[:2]
    written = figures.build(names, tmp_path)
    assert written == [tmp_path / f"{name}.png" for name in names] and len(written) == 2
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_figure_names_are_rejected():
    with pytest.raises(ValueError, match="bare file stems"):
        figures.figure("img/x.png")
    with pytest.raises(KeyError, match="unknown figure"):
        figures.build(["no_such_figure"])


def test_lecture_08_figures_are_registered():
    assert {"transposed_conv_overlaps", "unet_layout", "triplet_idea"} <= set(figures.load_all())


def _overlaps(boxes):
    return [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1]


def test_zoo_scatter_labels_do_not_overlap_and_lenet_has_its_own_inset():
    import matplotlib

    matplotlib.use("Agg")
    from cnnlab import models, plots

    rows = models.zoo_table()
    fig = plots.plot_zoo(rows)
    main = fig.axes[0]
    (inset,) = main.child_axes
    lenet = next(r for r in rows if r["name"] == "lenet5")
    assert main.get_xlim()[0] > lenet["macs"] / 1e9  # LeNet does not stretch the main axes
    assert "lenet5" in [t.get_text() for t in inset.texts]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    labels = [t for t in main.texts if t.get_text()]
    assert {t.get_text() for t in labels} == {r["name"] for r in rows} - {"lenet5"}
    from matplotlib.text import Text

    assert not _overlaps([Text.get_window_extent(t, renderer) for t in labels])  # the texts, not their leader lines


def test_misclassified_titles_do_not_overlap():
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np

    from cnnlab import plots

    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 10, 40)
    y_pred = (y_true + 1) % 10
    fig = plots.plot_misclassified(rng.random((40, 1, 32, 32)), y_true, y_pred, probs=rng.dirichlet(np.ones(10), 40))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    titles = [ax.title.get_window_extent(renderer) for ax in fig.axes if ax.get_title()]
    assert len(titles) == 16
    assert not _overlaps(titles)
