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

Autograding one submission opens nbgrader's gradebook five times, and each ``Gradebook`` makes a
new SQLAlchemy engine: a new connection set-up, a check of all of the gradebook's tables, and
every SQL statement compiled again, since compiled statements are cached per engine (a
sixth of an autograding process's CPU, measured with py-spy). :func:`one_engine_per_database`
gives every gradebook of a ``grade`` process the same engine, which checks the tables once.
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


def one_engine_per_database() -> None:
    """Make every nbgrader ``Gradebook`` of this process use one SQLAlchemy engine per database URL
    and create the gradebook's tables (when missing) once per engine.

    A ``Gradebook`` still opens and closes its own session and connections (``close`` disposes
    of the engine's pool, which the engine refills on the next use), so what each one reads and
    writes is unchanged.
    """
    import nbgrader.api as api

    if getattr(api.create_engine, "one_per_database", False):
        return
    create = api.create_engine
    engines: dict[str, Any] = {}

    def create_engine(url: Any, **kwargs: Any) -> Any:
        key = json.dumps([str(url), sorted((k, repr(v)) for k, v in kwargs.items())])
        if key not in engines:
            engines[key] = create(url, **kwargs)
        return engines[key]

    metadata = api.Base.metadata
    create_all = metadata.create_all
    checked: list[Any] = []  # engines whose tables exist

    def create_all_once(bind: Any, **kwargs: Any) -> None:
        if not any(bind is engine for engine in checked):
            create_all(bind=bind, **kwargs)
            checked.append(bind)

    create_engine.one_per_database = True  # type: ignore[attr-defined]
    api.create_engine = create_engine
    metadata.create_all = create_all_once  # type: ignore[method-assign]


def before_nbgrader() -> None:
    """What an nbgrader process started by ``cnnlab.course`` does before importing nbgrader: skip the
    grammars, check each schema once, and under ``grade`` (``CNNLAB_TRUSTED_ASSIGNMENT``) start the first notebook's sandbox,
    which then boots while nbgrader loads (about a second), share one gradebook engine
    (:func:`one_engine_per_database`), and take turns with the other processes of the run
    (:mod:`cnnlab.course.grader.turns`)."""
    import os

    skip_iri_grammars()
    check_each_schema_once()
    assignment = os.environ.get("CNNLAB_TRUSTED_ASSIGNMENT")
    if os.environ.get("CNNLAB_TRUSTED_AUTOGRADE") == "1" and assignment:
        from ..questions.spec import uses_torch
        from .student_process import prelaunch
        from .sandbox import mode

        try:
            if mode() == "bwrap":
                prelaunch(uses_torch(assignment))
        except Exception:  # noqa: BLE001 - only a head start: TrustedExecute starts one anyway
            pass
        one_engine_per_database()
    from .turns import take_turns_if_asked

    take_turns_if_asked()


def run_then_exit_at_once(main: Any) -> None:
    """Run ``main()`` as ``sys.exit(main())`` would, then end the process without tearing the
    interpreter down.

    The exit handlers run (logging is flushed, spare sandboxes are stopped) and so do the
    flushes of stdout and stderr; what is skipped is freeing every module and object one by
    one, which took half a second at the end of each nbgrader process under ``grade``
    (measured). Every file nbgrader writes is closed before its call returns.
    """
    import atexit
    import os

    try:
        status = main()
    except SystemExit as exc:
        status = exc.code
    except BaseException:  # noqa: BLE001 - report it as Python would, with its exit status
        import traceback

        traceback.print_exc()
        status = 1
    if status is None:
        status = 0
    elif not isinstance(status, int):
        print(status, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed pipe: nothing left to say
            pass
    os._exit(status)


NBGRADER_LAUNCHER = (
    "import sys; from cnnlab.course.grader.nbgrader_overrides import before_nbgrader, run_then_exit_at_once; "
    "before_nbgrader(); sys.argv[0] = 'nbgrader'; from nbgrader.apps.nbgraderapp import main; "
    "run_then_exit_at_once(main)"
)
"""``python -c NBGRADER_LAUNCHER ARGS`` is ``nbgrader ARGS``, started faster (:func:`before_nbgrader`)
and ended faster (:func:`run_then_exit_at_once`)."""
