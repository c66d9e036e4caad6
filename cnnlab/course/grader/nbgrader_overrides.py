"""Every override of a third-party internal that cnnlab.course makes, in one place.

Written against nbgrader 0.9.6, jsonschema 4.26, SQLAlchemy 2.1, nbformat 5.11, nbconvert 7.17
and IPython 9 (pyproject.toml bounds each below its next major or minor release), and held to
nbgrader's own behaviour by ``tests/test_nbgrader_contract.py``, which runs part of nbgrader's
test suite (gradebook, SaveAutoGrades, collect) with these overrides applied.

* :class:`SafeCollect`: ``nbgrader collect`` that never follows a student's symbolic link;
* :class:`SaveGradesInOneCommit`: SaveAutoGrades with one gradebook commit per notebook (its
  per-cell ``session.commit`` made a flush) and the trusted verdicts written in the same commit;
* :func:`autograde_steps`: nbgrader's default autograde preprocessors with the trusted steps
  substituted, so a new nbgrader step is kept (or the mismatch named) instead of dropped;
* :func:`skip_iri_grammars`, :func:`check_each_schema_once`, :func:`one_engine_per_database`,
  :func:`alembic_head_in_process`: start-up and per-notebook costs of the instructor's commands
  (below).

Start-up time of the instructor's commands: what their processes skip doing.

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

import functools
import json
import os
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
        if _in_memory(url):  # each in-memory gradebook is its own database: never share it
            return create(url, **kwargs)
        key = json.dumps([str(url), sorted((k, repr(v)) for k, v in kwargs.items())])
        if key not in engines:
            engines[key] = create(url, **kwargs)
        return engines[key]

    metadata = api.Base.metadata
    create_all = metadata.create_all
    checked: list[Any] = []  # engines whose tables exist

    def create_all_once(bind: Any, **kwargs: Any) -> None:
        if _in_memory(getattr(bind, "url", "")) or not any(bind is engine for engine in checked):
            create_all(bind=bind, **kwargs)
            checked.append(bind)

    create_engine.one_per_database = True  # type: ignore[attr-defined]
    api.create_engine = create_engine
    metadata.create_all = create_all_once  # type: ignore[method-assign]


def alembic_head_in_process() -> None:
    """Make nbgrader read its gradebook schema's alembic revision in this process.

    A new gradebook records the schema's head revision, which nbgrader gets by running the
    ``alembic heads`` command: a new Python that imports alembic and SQLAlchemy, 3.7 s of CPU per
    new gradebook (measured), and ``alembic`` must be on PATH. Reading the same migration scripts
    with alembic's ``ScriptDirectory`` gives the same revision in 2 ms.
    """
    import nbgrader.api as api

    if getattr(api.get_alembic_version, "in_process", False):
        return
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    def get_alembic_version() -> str:
        return ScriptDirectory(ALEMBIC_DIR).get_current_head()

    get_alembic_version.in_process = True  # type: ignore[attr-defined]
    get_alembic_version.original = api.get_alembic_version  # type: ignore[attr-defined]
    api.get_alembic_version = get_alembic_version


def _in_memory(url: Any) -> bool:
    """True for an SQLite URL without a file (``sqlite://``, ``sqlite:///:memory:``)."""
    text = str(url)
    return text.startswith("sqlite") and (text.rstrip("/") in ("sqlite:", "sqlite:/") or ":memory:" in text
                                          or "mode=memory" in text)


# nbgrader's autograde steps that the trusted run replaces, and the one it leaves out.
TRUSTED_STEPS = {
    "nbgrader.preprocessors.execute.Execute": "cnnlab.course.grader.nbgrader_steps.TrustedExecute",
    "nbgrader.preprocessors.saveautogrades.SaveAutoGrades": "cnnlab.course.grader.nbgrader_overrides.SaveGradesInOneCommit",
}
REFUSED_STEPS = {"nbgrader.preprocessors.execute.Execute": "cnnlab.course.grader.nbgrader_steps.RefuseUnsandboxed"}
# The final metadata check: the sanitize pass just before has checked the metadata (after restoring
# the locked cells) and nothing in the trusted run changes it again (28 ms a student).
LEFT_OUT_STEPS = ("nbgrader.preprocessors.checkcellmetadata.CheckCellMetadata",)


def release_steps() -> list[str]:
    """nbgrader's default ``GenerateAssignment.preprocessors`` with the jupytext pairing dropped at the
    end (:class:`~cnnlab.course.grader.nbgrader_steps.DropJupytextPairing`)."""
    from nbgrader.converters.generate_assignment import GenerateAssignment

    default = [f"{cls.__module__}.{cls.__qualname__}" for cls in GenerateAssignment().preprocessors]
    return [*default, "cnnlab.course.grader.nbgrader_steps.DropJupytextPairing"]


def autograde_steps(replace: dict[str, str], leave_out: tuple[str, ...] = ()) -> list[str]:
    """nbgrader's default ``Autograde.autograde_preprocessors``, as dotted names, with the steps of
    ``replace`` substituted and those of ``leave_out`` removed.

    Raises RuntimeError naming the installed nbgrader when a step to replace is not in its
    list (a new nbgrader changed its steps: look at them before grading).
    """
    import nbgrader
    from nbgrader.converters.autograde import Autograde

    default = [f"{cls.__module__}.{cls.__qualname__}" for cls in Autograde().autograde_preprocessors]
    missing = [name for name in (*replace, *leave_out) if name not in default]
    if missing:
        raise RuntimeError(f"nbgrader {nbgrader.__version__}'s autograde steps are {default}; cnnlab.course "
                           f"replaces {missing}, which are not among them: check nbgrader_overrides against it")
    return [replace.get(name, name) for name in default if name not in leave_out]


@functools.cache
def _safe_collect() -> type:
    """Define :class:`SafeCollect` on first use (this module is imported before nbgrader, see
    :func:`before_nbgrader`, so nothing here imports nbgrader at import time)."""
    import shutil
    import tempfile
    from pathlib import Path

    from nbgrader.exchange.default.collect import ExchangeCollect

    from .submission_files import copy_submission

    class SafeCollect(ExchangeCollect):
        """``nbgrader collect`` that never follows a link in the exchange's inbound folder (which
        students write).

        Stock collect copies with ``shutil.copytree``, which follows symbolic links: a link to
        ``source/``, the gradebook or another student's folder would be collected as its content.
        Here the submission's regular files (no links, devices, FIFOs or sockets; files opened with
        ``O_NOFOLLOW``) are first copied into a private folder with their modes, and nbgrader's own
        ``do_copy`` then copies that folder: its ignore/include patterns, file and folder size limits
        and ``groupshared`` permissions apply exactly as they do without this class.
        """

        def do_copy(self, src: str, dest: str, log: object = None) -> None:
            if os.path.islink(src):
                self.log.warning("Refused to collect %s: the submission folder is a symbolic link", src)
                return
            with tempfile.TemporaryDirectory(prefix="cnnlab-collect-") as tmp:
                private = Path(tmp) / "submission"
                private.mkdir()
                for refused in copy_submission(Path(src), private, keep_modes=True):
                    self.log.warning("Refused while collecting %s: %s", src, refused)
                shutil.copystat(src, private, follow_symlinks=False)
                super().do_copy(str(private), dest, log)

    SafeCollect.__module__ = __name__
    SafeCollect.__qualname__ = "SafeCollect"
    return SafeCollect


@functools.cache
def _save_grades_in_one_commit() -> type:
    """Define :class:`SaveGradesInOneCommit` on first use (nbgrader is imported late, see above)."""
    from dataclasses import asdict

    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import SaveAutoGrades

    from .nbgrader_steps import VERDICTS_KEY
    from .verdicts import record_verdicts, write_json

    class SaveGradesInOneCommit(SaveAutoGrades):
        """nbgrader's SaveAutoGrades, writing a notebook's grades, comments and trusted verdicts in one
        transaction.

        SaveAutoGrades commits twice per graded cell, and each commit of the SQLite gradebook waits
        for the disk: a quarter of an autograding process's time under ``grade`` (measured). Here
        the per-cell commits only flush (so later queries see the rows); then the verdicts that
        :class:`TrustedExecute` left in the resources are written over the scores
        (:func:`~cnnlab.course.grader.grade.record_verdicts`: a graded cell without a verdict scores 0 and
        needs review), and everything is committed once. If anything fails on the way, nothing of
        the notebook is kept and nbgrader reports the submission as failed, which ``grade`` turns
        into "needs review". After the commit, a note for ``grade`` says what was recorded
        (:func:`~cnnlab.course.grader.grade.recorded_path`); without it, ``grade`` records the verdicts itself.
        """

        def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
            info = resources["nbgrader"]
            self.notebook_id, self.assignment_id = info["notebook"], info["assignment"]
            self.student_id, self.db_url = info["student"], info["db_url"]
            trusted = resources.get(VERDICTS_KEY)
            verdicts = None if trusted is None else trusted["verdicts"]
            self.gradebook = Gradebook(self.db_url)
            with self.gradebook:
                session = self.gradebook.db
                session.commit = session.flush  # what _add_score and _add_comment call after each cell
                try:
                    nb, resources = super(SaveAutoGrades, self).preprocess(nb, resources)  # the cells, as nbgrader
                    if verdicts is not None:
                        submitted = self.gradebook.find_submission_notebook(
                            self.notebook_id, self.assignment_id, self.student_id)
                        changed = record_verdicts(submitted, verdicts)
                finally:
                    del session.commit
                session.commit()
                if verdicts is not None:
                    note = {"verdicts": {gid: asdict(v) for gid, v in verdicts.items()}, "changed": changed,
                            "score": float(submitted.score), "max_score": float(submitted.max_score)}
            if verdicts is not None:
                write_json(trusted["note"], note)
            return nb, resources

    SaveGradesInOneCommit.__module__ = __name__
    SaveGradesInOneCommit.__qualname__ = "SaveGradesInOneCommit"
    return SaveGradesInOneCommit


def __getattr__(name: str) -> Any:
    """``SafeCollect`` and ``SaveGradesInOneCommit`` are made on first access (nbgrader's configuration
    names them by their dotted paths)."""
    if name == "SafeCollect":
        return _safe_collect()
    if name == "SaveGradesInOneCommit":
        return _save_grades_in_one_commit()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def before_nbgrader() -> None:
    """What an nbgrader process started by ``cnnlab.course`` does before importing nbgrader: skip the
    grammars, check each schema once, read the gradebook's alembic revision in process, and under ``grade`` (``CNNLAB_TRUSTED_ASSIGNMENT``) start the first notebook's sandbox,
    which then boots while nbgrader loads (about a second), share one gradebook engine
    (:func:`one_engine_per_database`), and take turns with the other processes of the run
    (:mod:`cnnlab.course.grader.turns`)."""
    import os

    skip_iri_grammars()
    check_each_schema_once()
    alembic_head_in_process()
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
