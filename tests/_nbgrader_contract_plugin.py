"""pytest plugin for tests/test_nbgrader_contract.py: nbgrader's own tests, run with every override
of cnnlab.course.grader.nbgrader_overrides applied as ``grade``'s nbgrader processes apply them,
and nbgrader's collect replaced by SafeCollect. At the end it writes how often SafeCollect copied
a submission to the file named by CNNLAB_CONTRACT_REPORT (so the test knows it was exercised)."""
from __future__ import annotations

import os

from cnnlab.course.grader import nbgrader_overrides

nbgrader_overrides.skip_iri_grammars()
nbgrader_overrides.check_each_schema_once()
nbgrader_overrides.one_engine_per_database()
nbgrader_overrides.alembic_head_in_process()

_copies = [0]


def pytest_configure(config):  # noqa: ARG001 - pytest's hook signature
    from nbgrader.exchange.exchange_factory import ExchangeFactory

    safe = nbgrader_overrides.SafeCollect
    do_copy = safe.do_copy

    def counted(self, src, dest, log=None):
        _copies[0] += 1
        return do_copy(self, src, dest, log)

    safe.do_copy = counted
    ExchangeFactory.class_traits()["collect"].default_value = safe


def pytest_unconfigure(config):  # noqa: ARG001
    report = os.environ.get("CNNLAB_CONTRACT_REPORT")
    if report:
        with open(report, "w") as f:
            f.write(str(_copies[0]))
