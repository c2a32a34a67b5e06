import contextlib
import os
import shutil

import pytest
from django.conf import settings as django_settings

from .fuzzing import (  # noqa: F401  (fixtures)
    fuzz_catalogue,
    fuzz_catalogue_dir,
    module_db,
    module_targets,
    targets,
)
from .helpers import ARTIFACTS, PASSWORD, SIMULATOR_SECRET, screenshot
from .processes import Beat, Simulator, Worker, wait_for

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def simulator():
    sim = Simulator(SIMULATOR_SECRET)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def department_simulator(simulator):
    simulator.reset()
    yield simulator
    simulator.reset()


@pytest.fixture(scope="session")
def newborn_catalogue(tmp_path_factory):
    """The catalogue's departments, fields and materials, and the newborn bundle only."""
    from bundles.loader import DEFAULT_DIRECTORY

    folder = tmp_path_factory.mktemp("catalogue")
    (folder / "bundles").mkdir()
    for name in ("departments.yaml", "fields.yaml", "materials.yaml", "bundles/newborn.yaml"):
        shutil.copy(DEFAULT_DIRECTORY / name, folder / name)
    return folder


@pytest.fixture
def simulated_departments(settings, simulator):
    """Departments of kind http, when loaded, point at the test's simulator."""
    settings.DEPARTMENT_SIMULATOR_URL = simulator.url
    settings.DEPARTMENT_SIMULATOR_SECRET = SIMULATOR_SECRET


@pytest.fixture
def catalogue(db, simulated_departments, newborn_catalogue):
    """The newborn bundle and what it needs: most tests need no more."""
    from bundles.loader import load

    load(newborn_catalogue)


@pytest.fixture
def full_catalogue(db, simulated_departments):
    """The whole national catalogue as shipped in bundles/catalogue/."""
    from bundles.loader import load

    load()


@pytest.fixture
def make_citizen(db):
    from accounts.models import User

    def make(username="citizen", id_number="11010119900307002X", real_name="王小梅"):
        return User.objects.create_user(
            username=username,
            password=PASSWORD,
            real_name=real_name,
            id_number=id_number,
            mobile="13800138000",
        )

    return make


@pytest.fixture
def citizen(make_citizen):
    """王小梅: a citizen with a proven mandate for one business (checked at a market-regulation
    window), so she can apply for either."""
    from accounts.models import Enterprise, Mandate

    user = make_citizen()
    enterprise = Enterprise.objects.create(
        credit_code="91110000600037341L", name="北京示例餐饮有限公司"
    )
    mandate = Mandate.objects.create(agent=user, enterprise=enterprise)
    mandate.verify(Mandate.Proof.WINDOW, note="fixture")
    mandate.save()
    return user


@pytest.fixture(autouse=True)
def _fresh_counters_and_outbox():
    """Rate limits count in the cache, and codes wait in the development outbox: each test
    starts with none spent and none sent."""
    from django.core.cache import cache

    from notifications.senders import outbox

    cache.clear()
    outbox.path.unlink(missing_ok=True)
    yield


@pytest.fixture
def make_staff(db):
    from accounts.models import User
    from departments.models import Department

    def make(department_code, username=None):
        user = User.objects.create_user(
            username=username or f"staff_{department_code}",
            password=PASSWORD,
            real_name=f"{department_code} clerk",
        )
        # A department the catalogue has not loaded (a test without one) is made on the spot.
        department, _new = Department.objects.get_or_create(
            code=department_code, defaults={"name": department_code}
        )
        user.departments.add(department)
        return user

    return make


@pytest.fixture(scope="session")
def celery_env(django_db_setup, simulator, live_server, tmp_path_factory):
    """The environment of the test run's Celery processes: the test database and Redis."""
    db = django_settings.DATABASES["default"]
    return {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
        "PORTAL_BASE_URL": live_server.url,
        "POLL_INTERVAL_SECONDS": "1",
        "RECONCILE_INTERVAL_SECONDS": "1",
        "RECONCILE_STALE_SECONDS": "3",
        "DISPATCH_RETRY_BASE_SECONDS": "0.3",
        "DISPATCH_RETRY_MAX_SECONDS": "1.5",
        "DISPATCH_MAX_ATTEMPTS": "4",
        "DEPARTMENT_HTTP_TIMEOUT": "3",
        "WORKER_HEARTBEAT_SECONDS": "6",
        "PORTAL_VAR_DIR": str(tmp_path_factory.mktemp("worker-var")),
    }


@pytest.fixture(scope="session")
def worker_process(celery_env, django_db_blocker):
    """A real Celery worker on the test database and the test run's Redis."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "celery-worker.log"
    log.unlink(missing_ok=True)
    process = Worker(celery_env, log)
    process.start()
    wait_for(lambda: "ready." in process.log_text(), 60, message="the Celery worker to be ready")
    yield process
    process.stop()


@pytest.fixture(scope="session")
def beat_process(celery_env):
    """Celery beat beside the worker, as in production (one beat only)."""
    log = ARTIFACTS / "celery-beat.log"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    process = Beat(celery_env, log)
    process.start()
    yield process
    process.stop()


@pytest.fixture
def without_beat(beat_process):
    """No beat during the test — no poll, no reconciler — so that what the test shows is done
    by the worker alone; beat starts again afterwards."""
    beat_process.stop()
    yield
    beat_process.start()


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium, driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # beside it are still plain synchronous calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS
        )
        yield chromium
        chromium.close()


class PageOpener:
    """``new_page()`` opens a page in a fresh browser context (one per person or device).

    Every Content-Security-Policy violation on any page of those contexts (pop-ups too) is
    kept in ``violations``: Chromium reports each blocked inline script or style, and each
    load from elsewhere, on the console. A test that leaves any there fails.
    """

    def __init__(self, browser):
        self.browser, self.pages, self.violations = browser, [], []

    def __call__(self):
        context = self.browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        context.on("console", self._console)
        self.pages.append(context.new_page())
        return self.pages[-1]

    def _console(self, message):
        if "Content Security Policy" in message.text:
            self.violations.append(f"{message.location.get('url')}: {message.text}")

    def collected_violations(self) -> list[str]:
        """The violations so far, after the console messages still on their way are in."""
        from playwright.sync_api import Error

        for page in self.pages:
            # A round trip: messages sent before it are dispatched. A page closed or navigating
            # has nothing of its own left to report.
            with contextlib.suppress(Error):
                page.evaluate("0")
        return self.violations


@pytest.fixture
def new_page(browser, request):
    """Open a page in a fresh browser context; see PageOpener. On failure, each page's screen
    is kept as an artefact."""
    open_page = PageOpener(browser)
    yield open_page
    report = getattr(request.node, "report_call", None)
    for number, page in enumerate(open_page.pages):
        if report is not None and report.failed:
            screenshot(page, f"FAILED-{request.node.name}-{number}")
        page.context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A browser test fails if any page it opened broke the Content-Security-Policy."""
    result = yield
    opener = getattr(item, "funcargs", {}).get("new_page")
    if isinstance(opener, PageOpener) and opener.collected_violations():
        pytest.fail(
            "Content-Security-Policy violations:\n" + "\n".join(opener.violations),
            pytrace=False,
        )
    return result


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.report_call = report
    return report


@pytest.fixture
def worker(worker_process, beat_process, simulator):
    """The worker (and beat), for one test; afterwards the database is left alone before it is
    emptied.

    Emptying it (TRUNCATE) while the worker, or a department callback, is in a transaction
    can deadlock: so the worker stops taking tasks and finishes what it runs, and the
    simulator forgets its cases (and their callbacks) first.
    """
    if not worker_process.running:
        worker_process.start()
        wait_for(lambda: worker_process.log_text().count("ready.") > 0, 60)
    worker_process.consume(True)
    yield worker_process
    worker_process.consume(False)
    simulator.reset()
    worker_process.wait_idle()


@pytest.fixture
def admin_client(client, admin_user):
    """pytest-django's admin client, signed in with the second factor every admin gives."""
    from .helpers import sign_in_with_second_factor

    sign_in_with_second_factor(client, admin_user)
    return client
