"""cnnlab.course: the instructor's side of the graded assignments (nbgrader).

Folders say who runs the code:

* ``inside/``: runs in the sandbox, next to untrusted student code (worker, wire format, probes);
* ``grader/``: trusted; grades a class and writes the gradebook (``python -m cnnlab.course grade``);
* ``kit/``: builds and scans what students receive (``python -m cnnlab.course student-kit``);
* ``questions/`` and ``reference/``: each assignment's checks and hidden cases, and the
  reference solutions of the graded functions (instructor only, never in a sandbox or a kit).

``config`` reads ``course_config.py``; ``__main__`` is the command line.
"""
