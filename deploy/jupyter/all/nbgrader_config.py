# nbgrader settings every user server reads (students and instructors, one machine and Kubernetes).
# The values come from the environment the hub gives each server.
import os

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = os.environ.get("CNNLAB_COURSE_ID", "cnnlab")
c.Exchange.root = os.environ.get("CNNLAB_EXCHANGE", "/srv/nbgrader/exchange")
# Private submissions (cnnlab_exchange.py beside this file): only the student and the instructors'
# group can read a submission, and no one else can rename or delete it.
import sys  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
c.ExchangeFactory.release_assignment = "cnnlab_exchange.PrivateReleaseAssignment"
c.ExchangeFactory.submit = "cnnlab_exchange.PrivateSubmit"
