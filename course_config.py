"""The course's settings: what it contains and how nbgrader runs it.

Importable as plain Python (``cnnlab.course`` reads the lists below) and loadable
by nbgrader as a config file (``nbgrader <cmd> --NbGrader.config_file=course_config.py``),
where ``get_config()`` exists and the nbgrader settings at the bottom apply.
"""
from __future__ import annotations

import os
from pathlib import Path

COURSE_ID = "cnnlab"
REPO_ROOT = Path(__file__).resolve().parent

# Lecture notebooks, in teaching order (paths relative to the repository root).
LECTURES = [
    "notebooks/00_welcome.ipynb",
    "notebooks/01_convolution.ipynb",
    "notebooks/02_padding_and_stride.ipynb",
    "notebooks/03_pooling.ipynb",
    "notebooks/03b_learning_convolutions.ipynb",
    "notebooks/04_building_a_cnn.ipynb",
    "notebooks/04b_training_practice.ipynb",
    "notebooks/05_architectures.ipynb",
    "notebooks/05b_what_networks_learn.ipynb",
    "notebooks/06_augmentation_and_transfer.ipynb",
    "notebooks/07_localization_and_detection.ipynb",
    "notebooks/08_beyond_detection.ipynb",
]

# nbgrader assignments; their source notebooks live in notebooks/assignments/<id>/.
ASSIGNMENTS: list[str] = [
    "a1_conv_from_scratch",
    "a2_blocks_and_budget",
    "a3_detection",
]

# What each assignment grades: the functions and classes a student writes (their names in the
# notebook). The student kit must not define any of them (`python -m cnnlab.course student-kit`
# and tests/test_kit.py check every .py file and notebook code cell); their references live
# on the instructor's side only, in cnnlab/course/reference/.
GRADED_FUNCTIONS: dict[str, list[str]] = {
    "a1_conv_from_scratch": [
        "output_size", "same_padding", "conv_forward", "max_pool_forward", "avg_pool_forward",
        "conv_backward", "max_pool_backward", "conv_forward_fast",
    ],
    "a2_blocks_and_budget": ["PreActUnit", "CBAM", "ShuffleConv"],
    "a3_detection": ["box_giou", "soft_nms", "decode_anchors", "coco_ap"],
}

# What each assignment's grading sandbox can import (capabilities, not a deny-list): the
# distributions in "packages" (with everything they require; numpy, IPython and ipykernel always)
# and the parts of cnnlab in "cnnlab" (its set-up helpers devices, session, checks and gradcheck
# always). Nothing else is in the sandbox, so no route (alias, magic, helper file, pickle)
# imports it; "rules" says why a module is absent, in the message a student reads.
# They are declared in cnnlab/assignment_rules.py, which the student kit ships, so that a student's
# own kernel applies the same rules (as advice) and the two can never disagree; edit them there.
from cnnlab.assignment_rules import ASSIGNMENTS as GRADING_ENVIRONMENTS  # noqa: E402

# Seconds one cell may run while autograding (the training cells need the long one).
CELL_TIMEOUT_S = int(os.environ.get("CNNLAB_CELL_TIMEOUT", 120))

# The course directory (release, submitted, autograded, feedback, gradebook) lives
# outside the tracked tree; override with CNNLAB_COURSE_ROOT.
COURSE_ROOT = Path(os.environ.get("CNNLAB_COURSE_ROOT", Path.home() / "cnnlab-course"))

# Where the assignments' nbgrader source notebooks live; `python -m cnnlab.course init`
# links COURSE_ROOT/source to it.
ASSIGNMENTS_SOURCE = REPO_ROOT / "notebooks" / "assignments"

# nbgrader's exchange (release/fetch/submit/collect); must be shared by instructor and students.
EXCHANGE = Path(os.environ.get("CNNLAB_EXCHANGE", COURSE_ROOT / "exchange"))

# The gradebook: SQLite in COURSE_ROOT for one instructor (the default), or a server for a
# class with several graders, e.g. CNNLAB_DB_URL=postgresql://user@host:5432/cnnlab.
DB_URL = os.environ.get("CNNLAB_DB_URL") or f"sqlite:///{COURSE_ROOT / 'gradebook.db'}"

try:
    c = get_config()  # type: ignore[name-defined]  # noqa: F821 - defined when loaded as a Jupyter config
except NameError:
    c = None

if c is not None:
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.root = str(COURSE_ROOT)
    c.CourseDirectory.db_url = DB_URL
    c.ExecutePreprocessor.timeout = CELL_TIMEOUT_S
    c.Execute.timeout = CELL_TIMEOUT_S
    c.Execute.shutdown_kernel = "immediate"  # saves ~0.7 s per submission
    c.Exchange.root = str(EXCHANGE)
    # The jupytext text source beside each assignment notebook holds the solutions: never release it.
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.pct.py"]
    # What an instructor opens (formgrader's views, the feedback HTML) renders student content sanitised.
    from cnnlab.course.grader.safe_html import configure as _configure_safe_html

    _configure_safe_html(c)
    # Autograde runs student code only in a bubblewrap sandbox kernel (no course directory, no
    # gradebook, no network, unprivileged, memory/process/file limits). Without bwrap, autograde
    # refuses (every notebook fails with the install command); CNNLAB_SANDBOX=off runs it
    # unsandboxed for a class you trust, with a warning on every autograde. Collect never
    # follows a student's symbolic link.
    from cnnlab.course.grader.sandbox_kernel import configure as _configure_sandbox

    _configure_sandbox(c)
