"""What an instructor opens renders student content sanitised: formgrader's views and the feedback HTML.

Both are nbconvert ``HTMLExporter`` runs (formgrader's ``formgrade`` template, ``generate_feedback``'s
``feedback`` template), so :func:`configure` sets, in the course's nbgrader configuration:

* :class:`SanitizeOutputs` as an exporter preprocessor: nbconvert's bleach-based ``SanitizeHTML``
  for raw cells and outputs (``text/html`` and ``text/markdown`` outputs cleaned; JavaScript,
  SVG and every other rich type dropped; plain text, PNG, JPEG, LaTeX and JSON kept). Markdown
  cells are left to the filter below, so that markdown syntax (``> quotes``, ``a < b``) survives.
* :func:`markdown2html` as the templates' ``markdown2html`` filter: nbconvert's own markdown
  rendering, then the resulting HTML cleaned with bleach (only formatting tags; no ``<script>``,
  ``<iframe>``, ``<svg>``, ``<style>``, event handlers or ``style`` attributes; links and images
  only to ``http``, ``https``, ``mailto`` and ``data:image/png|jpeg|gif`` URLs, so no
  ``javascript:`` link).
"""
from __future__ import annotations

from typing import Any

import bleach
from nbconvert.preprocessors.sanitize import SanitizeHTML

# What rendered markdown may contain (tags and their harmless attributes).
MARKDOWN_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "s", "small", "span",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
})
MARKDOWN_ATTRIBUTES = {
    "*": ["class", "id", "title", "align"],
    "a": ["href", "title", "name"],
    "img": ["src", "alt", "title", "width", "height"],
    "td": ["colspan", "rowspan", "align"],
    "th": ["colspan", "rowspan", "align"],
    "ol": ["start"],
}
PROTOCOLS = frozenset({"http", "https", "mailto", "data"})
_DATA_IMAGES = ("data:image/png;", "data:image/jpeg;", "data:image/gif;")


def _attribute_ok(tag: str, name: str, value: str) -> bool:
    allowed = MARKDOWN_ATTRIBUTES.get(tag, []) + MARKDOWN_ATTRIBUTES["*"]
    if name not in allowed:
        return False
    if name in ("href", "src") and value.strip().lower().startswith("data:"):
        return tag == "img" and value.strip().lower().startswith(_DATA_IMAGES)  # no data:text/html documents
    return True


def clean(html: str) -> str:
    """``html`` with only :data:`MARKDOWN_TAGS`, their safe attributes and safe URLs left (the rest escaped)."""
    return bleach.clean(html, tags=MARKDOWN_TAGS, attributes=_attribute_ok, protocols=PROTOCOLS, strip=False,
                        strip_comments=True)


def markdown2html(source: str) -> str:
    """A markdown cell rendered as nbconvert renders it, then cleaned (:func:`clean`)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return clean(markdown2html_mistune(source))


class SanitizeOutputs(SanitizeHTML):
    """nbconvert's ``SanitizeHTML`` for raw cells and outputs; markdown is cleaned after rendering."""

    def preprocess_cell(self, cell: Any, resources: dict, index: int) -> tuple[Any, dict]:
        if cell.cell_type == "markdown":
            cell.pop("attachments", None)  # rendered as data: URLs otherwise (an SVG one could hold a script)
            return cell, resources
        if cell.cell_type == "code":
            cell.outputs = [o for o in self.sanitize_code_outputs(cell.outputs)
                            if o.get("output_type") != "display_data" or o.get("data")]
            return cell, resources
        return super().preprocess_cell(cell, resources, index)


def configure(c: Any) -> None:
    """nbgrader settings: formgrader's and the feedback's HTML exporter render student content sanitised."""
    c.HTMLExporter.preprocessors = ["cnnlab.course.grader.safe_html.SanitizeOutputs"]
    # (not nbconvert's sanitize_html switch: its templates would clean the cleaned markdown again with
    # bleach's defaults, which escape paragraphs and headings)
    c.HTMLExporter.filters = {"markdown2html": "cnnlab.course.grader.safe_html.markdown2html"}
