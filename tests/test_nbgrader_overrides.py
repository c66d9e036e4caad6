"""cnnlab.course.grader.nbgrader_overrides: what grade's nbgrader processes skip, checked against unpatched behaviour.

Each check runs in a fresh interpreter, since both changes are process-wide."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.course


def _run(code: str) -> dict:
    # nbgrader runs `alembic` (from the venv's bin) when it creates a gradebook
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_skipping_the_iri_grammars_keeps_notebook_validation():
    found = _run(
        "import json, sys, time\n"
        "from cnnlab.course.grader.nbgrader_overrides import skip_iri_grammars\n"
        "skip_iri_grammars()\n"
        "import nbformat\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('x = 1')])\n"
        "nbformat.validate(nb)\n"
        "bad = nbformat.v4.new_notebook(); bad.cells.append({'cell_type': 'code'})\n"
        "try:\n    nbformat.validate(bad); caught = False\n"
        "except nbformat.ValidationError:\n    caught = True\n"
        "print(json.dumps({'grammars': sys.modules.get('rfc3987_syntax', 'absent') is not None,"
        " 'lark': 'lark' in sys.modules, 'bad_caught': caught}))\n")
    assert found == {"grammars": False, "lark": False, "bad_caught": True}


def test_each_schema_is_checked_once_and_instances_exactly_as_before():
    found = _run(
        "import json, jsonschema\n"
        "schema = {'type': 'object', 'properties': {'grade': {'type': 'boolean'}}, 'required': ['grade']}\n"
        "def errors(validate):\n"
        "    out = []\n"
        "    for instance in ({'grade': True}, {'grade': 1}, {}, []):\n"
        "        try:\n            validate(instance, dict(schema)); out.append(None)\n"
        "        except jsonschema.ValidationError as exc:\n            out.append(exc.message)\n"
        "    try:\n        validate({}, {'type': 'no such type'}); out.append('no SchemaError')\n"
        "    except jsonschema.SchemaError:\n        out.append('SchemaError')\n"
        "    return out\n"
        "before = errors(jsonschema.validate)\n"
        "from cnnlab.course.grader.nbgrader_overrides import check_each_schema_once\n"
        "check_each_schema_once(); check_each_schema_once()\n"
        "cls = jsonschema.validators.validator_for(schema)\n"
        "calls = []\n"
        "original = cls.check_schema\n"
        "cls.check_schema = classmethod(lambda c, s, **k: (calls.append(1), original(s, **k))[1])\n"
        "after = errors(jsonschema.validate)\n"
        "for _ in range(10):\n    jsonschema.validate({'grade': False}, dict(schema))\n"
        "print(json.dumps({'before': before, 'after': after, 'schema_checks': len(calls)}))\n")
    assert found["after"] == found["before"]
    assert found["before"][0] is None and found["before"][1] and found["before"][4] == "SchemaError"
    assert found["schema_checks"] == 2  # the good schema once, the broken one once (it raised)


def test_nbgrader_still_refuses_corrupted_metadata_after_the_change():
    found = _run(
        "import json\n"
        "from cnnlab.course.grader.nbgrader_overrides import before_nbgrader\n"
        "before_nbgrader()\n"
        "import nbformat\n"
        "from nbgrader.nbgraderformat import MetadataValidator, ValidationError\n"
        "cell = nbformat.v4.new_code_cell('x = 1')\n"
        "cell.metadata['nbgrader'] = {'grade': True, 'solution': False, 'locked': False, 'grade_id': 'a',"
        " 'points': 'many', 'schema_version': 3, 'task': False}\n"
        "nb = nbformat.v4.new_notebook(cells=[cell])\n"
        "try:\n    MetadataValidator().validate_nb(nb); refused = False\n"
        "except Exception as exc:\n    refused = type(exc).__name__\n"
        "cell.metadata['nbgrader']['points'] = 2\n"
        "MetadataValidator().validate_nb(nb)\n"
        "print(json.dumps({'refused': refused}))\n")
    assert found["refused"] in ("ValidationError",)


def test_gradebooks_share_one_engine_and_see_each_others_writes(tmp_path):
    """Every Gradebook of a process gets the same engine; the tables are created once per engine;
    a write through one gradebook, closed, is read back through the next one and from a fresh
    process with stock nbgrader."""
    db = tmp_path / "gradebook.db"
    found = _run(
        "import json\n"
        "import nbgrader.api as api\n"
        "calls = []\n"
        "create_all = api.Base.metadata.create_all\n"
        "def counting(bind, **kw):\n    calls.append(bind); return create_all(bind=bind, **kw)\n"
        "api.Base.metadata.create_all = counting  # what one_engine_per_database will call\n"
        "from cnnlab.course.grader.nbgrader_overrides import one_engine_per_database\n"
        "one_engine_per_database()\n"
        f"url = 'sqlite:///{db}'\n"
        "with api.Gradebook(url) as gb:\n    gb.add_student('ada', first_name='Ada'); first = gb.engine\n"
        "with api.Gradebook(url) as gb:\n    name = gb.find_student('ada').first_name; second = gb.engine\n"
        f"with api.Gradebook('sqlite:///{tmp_path / 'other.db'}') as gb:\n    third = gb.engine\n"
        "print(json.dumps({'same': first is second, 'other': third is not first, 'name': name,"
        " 'create_all_calls': len(calls)}))\n")
    # the wrapper counts calls reaching the real create_all: once for each of the two databases
    assert found == {"same": True, "other": True, "name": "Ada", "create_all_calls": 2}
    stock = _run(
        "import json\nimport nbgrader.api as api\n"
        f"with api.Gradebook('sqlite:///{db}') as gb:\n    print(json.dumps({{'name': gb.find_student('ada').first_name}}))\n")
    assert stock == {"name": "Ada"}


@pytest.mark.slow  # runs nbgrader's own `alembic heads` once
def test_a_new_gradebook_records_the_same_alembic_revision_without_the_alembic_command(tmp_path):
    """The in-process revision equals what nbgrader's ``alembic heads`` subprocess gives, and a new
    gradebook made with the override records it (no ``alembic`` on PATH needed)."""
    db = tmp_path / "gradebook.db"
    stock = _run("import json\nimport nbgrader.api as api\nprint(json.dumps({'head': api.get_alembic_version()}))\n")
    code = ("import json, os, sqlite3\n"
            "os.environ['PATH'] = '/nonexistent'  # no alembic command to run\n"
            "from cnnlab.course.grader.nbgrader_overrides import alembic_head_in_process\n"
            "alembic_head_in_process()\n"
            "import nbgrader.api as api\n"
            f"api.Gradebook('sqlite:///{db}').close()\n"
            f"row = sqlite3.connect('{db}').execute('SELECT version_num FROM alembic_version').fetchall()\n"
            "print(json.dumps({'recorded': row}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"recorded": [[stock["head"]]]}
    assert len(stock["head"]) == 12  # a real revision id, e.g. e43177bfe90b


def test_nbgrader_processes_exit_with_main_status_after_the_exit_handlers(tmp_path):
    marker = tmp_path / "handler-ran"
    script = (
        "import atexit, sys\n"
        "from cnnlab.course.grader.nbgrader_overrides import run_then_exit_at_once\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').close())\n"
        "def main():\n    sys.stdout.write('no newline, still flushed')\n    return int(sys.argv[1])\n"
        "def failing():\n    sys.exit('nbgrader failed: reason')\n"
        "run_then_exit_at_once(failing if sys.argv[1] == 'fail' else main)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, "3"], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (3, "no newline, still flushed")
    assert marker.exists()
    failed = subprocess.run([sys.executable, "-c", script, "fail"], capture_output=True, text=True)
    assert failed.returncode == 1 and "nbgrader failed: reason" in failed.stderr
