"""What students receive: the student kit (``build``) and the student version of the lecture
notebooks (``student_notebooks``). Nothing built here may answer a graded question."""

# Files of the checkout's ``cnnlab`` that the student package's wheel leaves out (``build.build_wheel``);
# here, where the grader's sandbox can read it without importing the kit builder (nbformat, jsonschema).
NOT_IN_THE_WHEEL = ("__pycache__", "*.pyc", "*.egg-info")
