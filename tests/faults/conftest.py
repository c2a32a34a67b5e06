import pytest

from ..redis_server import server
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


@pytest.fixture
def broker_server(worker):
    """The Redis this test run started, for a test that kills it: running again when the test
    ends, however it ends (the worker's own clean-up needs it)."""
    redis = server()
    assert redis is not None, "the fault tests need the test run's own redis-server"
    yield redis
    if redis.process.poll() is not None:
        redis.start()
