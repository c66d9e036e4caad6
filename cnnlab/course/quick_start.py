"""Start-up time of the instructor's commands: what their processes skip doing.

jsonschema (which nbformat and nbgrader use to validate notebooks) imports ``rfc3987_syntax``
when it is installed (``jsonschema[format-nongpl]``, pulled in by jupyter-events), and that
module compiles 39 lark grammars at import: 2.3 s of CPU in every process (measured), only to
check the "iri" and "iri-reference" string formats, which neither the notebook schema nor
nbgrader's metadata schema uses. :func:`skip_iri_grammars` hides the module before jsonschema
is imported; jsonschema then leaves those two formats unchecked and validates everything else.

nbgrader also checks every cell's metadata with ``jsonschema.validate``, on every read and write
of a notebook, and that function first checks the *schema* against its meta-schema, every time:
1,440 times for 40 submissions, about 1 s of CPU. :func:`check_each_schema_once` keeps the
checked validator of each schema instead; the instance is validated exactly as before.
"""
from __future__ import annotations

import json
import sys
from typing import Any


def skip_iri_grammars() -> None:
    """Make ``import rfc3987_syntax`` fail (jsonschema expects that it may): call before importing nbformat."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def check_each_schema_once() -> None:
    """Make ``jsonschema.validate(instance, schema)`` check each distinct schema once, not on every call."""
    import jsonschema

    if getattr(jsonschema.validate, "checks_each_schema_once", False):
        return
    original = jsonschema.validate
    validators: dict[str, Any] = {}

    def validate(instance: Any, schema: Any, cls: Any = None, *args: Any, **kwargs: Any) -> None:
        if cls is not None or args or kwargs:
            return original(instance, schema, cls, *args, **kwargs)
        key = json.dumps(schema, sort_keys=True)
        validator = validators.get(key)
        if validator is None:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)  # a broken schema still raises SchemaError, once
            validator = validators[key] = cls(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error

    validate.checks_each_schema_once = True  # type: ignore[attr-defined]
    jsonschema.validate = validate


def before_nbgrader() -> None:
    """What an nbgrader process started by ``cnnlab.course`` does before importing nbgrader: skip the
    grammars, check each schema once, and under ``grade`` (``CNNLAB_TRUSTED_ASSIGNMENT``) start the first notebook's sandbox,
    which then boots while nbgrader loads (about a second)."""
    import os

    skip_iri_grammars()
    check_each_schema_once()
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
