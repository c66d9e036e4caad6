"""Self-checked exercises for the lecture notebooks (ungraded).

Each lecture's checks live in their own module and are re-exported here, so a notebook
writes ``from cnnlab import exercises`` and calls ``exercises.check_...(answer)``. See
``cnnlab.exercises._core`` for how a check reports "not attempted yet", a wrong answer
or a right one, and for the hint ladder: ``exercises.hint('NAME')`` prints the next hint of an
exercise, ``exercises.show_answer('NAME')`` its worked answer.
"""
from __future__ import annotations

from ._core import STRICT_ENV, NotAttempted, hint, self_check, show_answer, strict
from .lectures_00_03 import *  # noqa: F403
from .lectures_00_03 import __all__ as _l00_03
from .learning_convolutions import *  # noqa: F403
from .learning_convolutions import __all__ as _l03b
from .training_and_normalization import *  # noqa: F403
from .training_and_normalization import __all__ as _training
from .training_practice import *  # noqa: F403
from .training_practice import __all__ as _l04b
from .lectures_04_05 import *  # noqa: F403
from .lectures_04_05 import __all__ as _l04_05
from .lectures_06_07 import *  # noqa: F403
from .lectures_06_07 import __all__ as _l06_07
from .beyond import *  # noqa: F403
from .beyond import __all__ as _l08
from .what_networks_learn import *  # noqa: F403
from .what_networks_learn import __all__ as _l05b

__all__ = ["STRICT_ENV", "NotAttempted", "hint", "self_check", "show_answer", "strict", *_l00_03, *_l03b, *_training, *_l04b, *_l04_05, *_l06_07, *_l08, *_l05b]
