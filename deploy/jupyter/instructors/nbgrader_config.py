# nbgrader settings of the instructors' servers: the course directory and the gradebook, from the
# environment (CNNLAB_COURSE_ROOT, CNNLAB_DB_URL). A URL without a password is expected: the
# password lives in ~/.pgpass (mode 600), so no page (formgrader's configuration view included)
# can show it. On one machine the course's own course_config.py is loaded as well (~/.jupyter).
import os

c = get_config()  # noqa: F821
if os.environ.get("CNNLAB_COURSE_ROOT"):
    c.CourseDirectory.root = os.environ["CNNLAB_COURSE_ROOT"]
if os.environ.get("CNNLAB_DB_URL"):
    c.CourseDirectory.db_url = os.environ["CNNLAB_DB_URL"]
