"""What students receive: the student kit (``build``) and the student version of the lecture
notebooks (``student_notebooks``). Nothing built here may answer a graded question."""
