import pytest

from .harness import FaultRun


@pytest.fixture
def applicants(citizen, make_citizen):
    """Two parents applying, each for several newborns (the portal does not mind)."""
    return [citizen, make_citizen("father", "110101198805120012", "李䶮")]


@pytest.fixture
def fault_run(catalogue, applicants, make_staff, department_simulator, worker):
    """A FaultRun with its police clerk at work; the clerk leaves before the worker stops."""
    run = FaultRun(department_simulator, applicants, make_staff("police"))
    run.start_clerk()
    yield run
    run.stop_clerk()
