"""A seeded "monkey" that drives the real main window with thousands of random user actions.

    from tests.monkey import Monkey
    monkey = Monkey(window, folder, seed=1234)
    monkey.run(3000)            # raises MonkeyFailure with the seed and the actions to replay

Every step is plain data (a name and JSON-able arguments, resolved against the window when it
is performed), so a failing run can be written to a file and replayed, shortened or edited:

    python -m tests.monkey --seed 1234 --steps 3000        # the same run outside pytest
    python -m tests.monkey --replay monkey-actions.json    # exactly the steps of a failed run

After every step the checks in :mod:`tests.monkey.checks` run: no exception reached the event
loop, the canvas shows the current stage with the engine's data for the current state, and the
undo history is consistent.
"""

from tests.monkey.runner import Monkey, MonkeyFailure, Step

__all__ = ["Monkey", "MonkeyFailure", "Step"]
