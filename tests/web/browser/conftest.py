"""Browser fixtures: ONE real node served by uvicorn over a block-scale sandbox and a built open-data release, and
ONE headless Chromium driven by Selenium 4 (Debian's ``chromium`` and ``chromium-driver`` packages).

Both are module-scoped: the browser tests live in one module, so they share one server, one sandbox and one browser
(the whole module takes well under a minute). The node runs on SQLite only: storage is tested on both backends by
the TestClient tests (tests/web/test_officials.py and the Citizen Corner tests); these tests check what a person
sees and does in a real browser.

Without Chromium the tests are skipped with the reason, except under CI (``CI=true``), where a missing browser is a
failure: .ci/run installs it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
HEADLESS_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking")
REPO_ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"  # kept by CI as test artefacts (git-ignored)
SANDBOX_SEED = 7
SANDBOX_STATE = 36
WAIT_SECONDS = 10  # longest wait for a page element or a download


def require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if not missing:
        return
    reason = f"headless browser tests need {' and '.join(missing)} (apt-get install chromium chromium-driver)"
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"CI is set but {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class Site:
    """The served node and what the tests need to know about its sandbox."""

    base_url: str
    sample: dict[str, int]  # LGD codes of the sandbox's sample district, block, gram panchayat and village
    village_name: str
    block_name: str
    downloads: Path
    release_id: str


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    require_browser()
    from sqlalchemy import select

    from jaldpi.admin_units.models import AdminUnit
    from jaldpi.app import create_app
    from jaldpi.config import Settings
    from jaldpi.core.db import Database
    from jaldpi.core.migrate import upgrade
    from jaldpi.opendata.build import build_release
    from jaldpi.opendata.store import latest_release
    from jaldpi.sandbox.accounts import demo_accounts, ensure_demo_accounts
    from jaldpi.sandbox.generate import generate
    from tests.liveserver import serve

    root = tmp_path_factory.mktemp("browser")
    db = Database(f"sqlite:///{root / 'node.db'}")
    upgrade(db)
    settings = Settings(env="test", database_url=db.url, node_id="browser-test-node", opendata_dir=root / "opendata",
                        password_hash_time_cost=1, password_hash_memory_kib=1024, rate_limit_per_minute=0,
                        anonymous_rate_limit_per_minute=0)
    app = create_app(settings, db)
    node = app.state.node
    result = generate(node.db, node.catalogue, seed=SANDBOX_SEED, scale="block", state_code=SANDBOX_STATE)
    with node.db.unit_of_work() as session:
        ensure_demo_accounts(session, node.passwords, demo_accounts(SANDBOX_STATE, result.sample))
        names = dict(session.execute(select(AdminUnit.level, AdminUnit.name).where(
            ((AdminUnit.level == "village") & (AdminUnit.lgd_code == result.sample["village"]))
            | ((AdminUnit.level == "block") & (AdminUnit.lgd_code == result.sample["block"])))).all())
    release = build_release(db, settings)
    assert latest_release(settings).id == release.id, "the open-data build did not become the current release"
    downloads = root / "downloads"
    downloads.mkdir()
    with serve(app) as base_url:
        yield Site(base_url, result.sample, names["village"], names["block"], downloads, release.id)
    db.dispose()


@pytest.fixture(scope="module")
def browser(site: Site):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in HEADLESS_FLAGS:
        options.add_argument(flag)
    options.add_argument("--window-size=1280,1000")
    options.add_argument("--lang=en-GB")
    # downloads land in the test's directory without a prompt (the dataset download test waits for the file)
    options.add_experimental_option("prefs", {"download.default_directory": str(site.downloads),
                                              "download.prompt_for_download": False,
                                              "download.directory_upgrade": True,
                                              "intl.accept_languages": "en-GB,en"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS * 3)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def screenshot(browser) -> Callable[[str], Path]:
    """``screenshot("03-village-page-hindi")`` saves the current page as test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        assert browser.save_screenshot(str(path)), f"could not save {path}"
        return path

    return take


def wait_for(condition: Callable[[], object], what: str, timeout: float = WAIT_SECONDS) -> object:
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
