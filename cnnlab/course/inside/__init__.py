"""Code that runs inside the sandbox, next to untrusted student code.

Everything here is mounted into each grading sandbox as it is: the worker that runs a
notebook's cells and answers the grader (``worker``), the message format on the pipe
between them (``wire``) and assignment 2's probes (``probes``). It imports nothing else of
``cnnlab.course`` (a test checks it); the grader never imports it except to launch it.
"""
