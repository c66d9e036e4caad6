"""The trusted grader: runs outside the sandbox and decides every score.

``grade`` runs a class (one sandboxed execution per submission, nbgrader processes taking
``turns``), ``recheck`` re-runs each graded question against the student process
(``student_process``) from plain data, ``verdicts`` are what it decides, ``nbgrader_steps``
write them through nbgrader's preprocessors, ``sandbox``/``sandbox_kernel`` isolate the
student's code, ``submission_files`` walks a submission (one walker, one size limit),
``nbgrader_cli`` runs nbgrader's own commands and ``nbgrader_overrides`` holds every override of
a third-party internal (``SafeCollect`` among them).
"""
