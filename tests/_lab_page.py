"""Driving JupyterLab in headless Chromium (Playwright), shared by the browser and the hub tests.

Measured here: Lab's idle indicator turns idle before the kernel is connected, so wait on the
kernel itself (KERNEL_READY) before "run all"; move a slider by typing into its readout (one
value change) rather than with arrow keys (one change per press).
"""
from __future__ import annotations

import time

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

KERNEL_READY = """() => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
}"""

ALL_CELLS_RAN = """() => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  return k.status === 'idle' && nb.widgets.every(c => c.model.type !== 'code' || c.model.executionCount !== null);
}"""

RUN_ALL = "() => window.jupyterapp.commands.execute('notebook:run-all-cells')"

# the ConvolutionExplorer's position slider, and the output area that holds the explorer
POSITION_SLIDER = ".widget-slider:has(.widget-label:text-is('position'))"


def explorer_output(page):
    """The output area that holds the first ConvolutionExplorer."""
    return page.locator(".jp-OutputArea-output", has=page.locator(POSITION_SLIDER)).first


def explorer_images(container) -> list[str]:
    """The ``src`` of every picture in ``container`` (they change when the explorer redraws)."""
    return container.locator("img").evaluate_all("els => els.map(e => e.src)")


def set_slider(slider, value: int) -> None:
    """Type ``value`` into the slider's readout: one change event."""
    readout = slider.locator(".widget-readout")
    readout.click()
    readout.press("Control+a")
    readout.type(str(value))
    readout.press("Enter")


def wait_for_redraw(page, container, before: list[str], timeout: float = 20.0) -> list[str]:
    """Poll until the pictures in ``container`` differ from ``before`` (or ``timeout`` s); return them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = explorer_images(container)
        if now and now != before:
            return now
        page.wait_for_timeout(200)
    return explorer_images(container)
