"""The ConvolutionExplorer works in a real browser: JupyterLab (run all of lecture 01) and Voila."""
from __future__ import annotations

from pathlib import Path

import pytest
from _lab_page import (ALL_CELLS_RAN, KERNEL_READY, POSITION_SLIDER, RUN_ALL, explorer_images, explorer_output,
                       set_slider, wait_for_redraw)

# where screenshots of failures go (the same folder as the fixtures' logs in conftest.py)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ERROR_OUTPUTS = """() => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  const found = [];
  nb.widgets.forEach((c, i) => {
    if (c.model.type !== 'code') return;
    for (const o of c.model.outputs.toJSON()) {
      if (o.output_type === 'error') found.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
    }
  });
  return found;
}"""



def test_lab_runs_lecture_01_and_the_explorer_reacts(lab_server, page):
    page.goto(f"{lab_server.url}/lab/tree/notebooks/01_convolution.ipynb?token={lab_server.token}")
    page.wait_for_function(KERNEL_READY, timeout=90_000, polling=250)
    page.evaluate(RUN_ALL)
    slider = page.locator(POSITION_SLIDER).first
    slider.wait_for(state="visible", timeout=120_000)
    page.wait_for_function(ALL_CELLS_RAN, timeout=180_000, polling=500)

    errors = page.evaluate(ERROR_OUTPUTS)
    tracebacks = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]',
                              has_text="Traceback")
    assert not errors, f"cells raised: {errors}"
    assert tracebacks.count() == 0, tracebacks.first.inner_text()

    explorer = explorer_output(page)
    explorer.scroll_into_view_if_needed()
    explorer.locator("img").first.wait_for(state="visible")
    before = explorer_images(explorer)
    assert len(before) >= 2 and all(src.startswith(("blob:", "data:image/png")) for src in before), before
    page.screenshot(path=str(ARTIFACTS / "lab_explorer_before.png"))

    set_slider(slider, 9)
    after = wait_for_redraw(page, explorer, before)
    explorer.screenshot(path=str(ARTIFACTS / "lab_explorer_after.png"))
    assert after != before, "the explorer's pictures did not change after moving the position slider"
    assert "output[2, 1]" in explorer.inner_text()  # position 9 of a 4x4 output is cell (2, 1)
    assert page.evaluate(ERROR_OUTPUTS) == []


def test_voila_renders_the_explorer_and_it_reacts(voila_server, page):
    page.goto(voila_server.url, timeout=90_000)
    slider = page.locator(POSITION_SLIDER).first
    slider.wait_for(state="visible", timeout=90_000)
    explorer = explorer_output(page)
    explorer.locator("img").first.wait_for(state="visible")
    before = explorer_images(explorer)
    assert len(before) >= 2, before
    set_slider(slider, 5)
    after = wait_for_redraw(page, explorer, before)
    page.screenshot(path=str(ARTIFACTS / "voila_explorer.png"), full_page=True)
    assert after != before, "the explorer's pictures did not change after moving the position slider in Voila"
    assert "output[1, 1]" in explorer.inner_text()
