"""cnnlab.course.quick_start: what grade's nbgrader processes skip, checked against unpatched behaviour.

Each check runs in a fresh interpreter, since both changes are process-wide."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.course


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_skipping_the_iri_grammars_keeps_notebook_validation():
    found = _run(
        "import json, sys, time\n"
        "from cnnlab.course.quick_start import skip_iri_grammars\n"
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
        "from cnnlab.course.quick_start import check_each_schema_once\n"
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
        "from cnnlab.course.quick_start import before_nbgrader\n"
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
