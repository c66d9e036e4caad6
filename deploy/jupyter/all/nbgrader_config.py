# nbgrader settings every user server reads (students and instructors, one machine and Kubernetes).
# The values come from the environment the hub gives each server.
import os

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = os.environ.get("CNNLAB_COURSE_ID", "cnnlab")
c.Exchange.root = os.environ.get("CNNLAB_EXCHANGE", "/srv/nbgrader/exchange")
