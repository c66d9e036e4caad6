"""Start-up time of the instructor's commands: what their processes skip importing.

jsonschema (which nbformat and nbgrader use to validate notebooks) imports ``rfc3987_syntax``
when it is installed (``jsonschema[format-nongpl]``, pulled in by jupyter-events), and that
module compiles 39 lark grammars at import: 2.3 s of CPU in every process (measured), only to
check the "iri" and "iri-reference" string formats, which neither the notebook schema nor
nbgrader's metadata schema uses. :func:`skip_iri_grammars` hides the module before jsonschema
is imported; jsonschema then leaves those two formats unchecked and validates everything else.
"""
from __future__ import annotations

import sys


def skip_iri_grammars() -> None:
    """Make ``import rfc3987_syntax`` fail (jsonschema expects that it may): call before importing nbformat."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


NBGRADER_LAUNCHER = (
    "import sys; from cnnlab.course.quick_start import skip_iri_grammars; skip_iri_grammars(); "
    "sys.argv[0] = 'nbgrader'; from nbgrader.apps.nbgraderapp import main; sys.exit(main())"
)
"""``python -c NBGRADER_LAUNCHER ARGS`` is ``nbgrader ARGS`` without the grammars."""
