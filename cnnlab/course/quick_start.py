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


def before_nbgrader() -> None:
    """What an nbgrader process started by ``cnnlab.course`` does before importing nbgrader: skip the
    grammars, and under ``grade`` (``CNNLAB_TRUSTED_ASSIGNMENT``) start the first notebook's sandbox,
    which then boots while nbgrader loads (about a second)."""
    import os

    skip_iri_grammars()
    assignment = os.environ.get("CNNLAB_TRUSTED_ASSIGNMENT")
    if os.environ.get("CNNLAB_TRUSTED_AUTOGRADE") == "1" and assignment:
        from .grading.spec import uses_torch
        from .remote import prelaunch
        from .sandbox import mode

        try:
            if mode() == "bwrap":
                prelaunch(uses_torch(assignment))
        except Exception:  # noqa: BLE001 - only a head start: TrustedExecute starts one anyway
            pass


NBGRADER_LAUNCHER = (
    "import sys; from cnnlab.course.quick_start import before_nbgrader; before_nbgrader(); "
    "sys.argv[0] = 'nbgrader'; from nbgrader.apps.nbgraderapp import main; sys.exit(main())"
)
"""``python -c NBGRADER_LAUNCHER ARGS`` is ``nbgrader ARGS``, started faster (:func:`before_nbgrader`)."""
