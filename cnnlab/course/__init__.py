"""cnnlab.course: the instructor's side of the graded assignments (nbgrader).

* ``python -m cnnlab.course init|nbgrader|grade|verify|report`` (see ``__main__``);
* :mod:`.sandbox` / :mod:`.kernel`: bubblewrap isolation for student code, and the
  sandboxed Jupyter kernel nbgrader autograde runs;
* :mod:`.verify` / :mod:`.remote`: out-of-band re-grading of every graded cell;
* :mod:`.grade`: parallel autograde of a class; :mod:`.report`: CSV and PNG of scores.
"""
