"""What a person does in a real browser (headless Chromium): find a village and read its story, switch to Hindi
and back, download an open dataset, sign in as an official and see the dashboard, reach the page with the
keyboard alone, and file a complaint about a village's water and track it. Every step leaves a screenshot in
test-artifacts/screenshots/."""

from __future__ import annotations

import csv
import io

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from tests.web.browser.conftest import Site, wait_for

pytestmark = pytest.mark.slow  # one server, one sandbox and one browser for the module


def open_page(browser, site: Site, path: str) -> None:
    browser.get(site.base_url + path)
    wait_for(lambda: browser.execute_script("return document.readyState") == "complete", f"{path} to load")


def html_lang(browser) -> str:
    return browser.find_element(By.TAG_NAME, "html").get_attribute("lang")


def test_search_for_a_village_and_open_it(browser, site: Site, screenshot):
    open_page(browser, site, "/citizen/?lang=en")
    box = browser.find_element(By.ID, "village-q")
    box.send_keys(site.village_name)
    box.send_keys(Keys.ENTER)
    href = f"/citizen/village/{site.sample['village']}"
    link = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, f'a[href="{href}"]'),
                    f"a search result linking to {href}")[0]
    screenshot("01-search-results")
    link.click()
    wait_for(lambda: browser.current_url.endswith(f"/citizen/village/{site.sample['village']}"), "the village page")
    assert site.village_name in browser.find_element(By.TAG_NAME, "h1").text
    screenshot("02-village-page")


def test_village_page_tells_its_story(browser, site: Site, screenshot):
    open_page(browser, site, f"/citizen/village/{site.sample['village']}?lang=en")
    assert site.village_name in browser.find_element(By.TAG_NAME, "h1").text
    # the story: taps (from the open-data release), the schemes serving it, its water quality
    for section in ("taps", "schemes", "quality"):
        heading = browser.find_element(By.ID, section)
        assert heading.text.strip(), f"section {section} has no heading"
    assert browser.find_elements(By.CSS_SELECTOR, "ul.facts li"), "no facts about the village's taps"
    browser.find_element(By.ID, "quality").location_once_scrolled_into_view  # noqa: B018 - scrolls the page
    screenshot("03-village-story-water-quality")


def test_switch_language_to_hindi_and_back(browser, site: Site, screenshot):
    open_page(browser, site, f"/citizen/village/{site.sample['village']}?lang=en")
    assert html_lang(browser) == "en"
    english_home = browser.find_element(By.CSS_SELECTOR, "header.site nav a[href='/citizen/']").text
    browser.find_element(By.CSS_SELECTOR, "a.lang").click()
    wait_for(lambda: html_lang(browser) == "hi", "html[lang] to become hi")
    hindi_home = browser.find_element(By.CSS_SELECTOR, "header.site nav a[href='/citizen/']").text
    assert hindi_home != english_home and any("\u0900" <= ch <= "\u097f" for ch in hindi_home), hindi_home
    screenshot("04-village-page-hindi")
    # the choice is remembered: another page without ?lang= stays in Hindi
    open_page(browser, site, "/citizen/")
    assert html_lang(browser) == "hi"
    browser.find_element(By.CSS_SELECTOR, "a.lang").click()
    wait_for(lambda: html_lang(browser) == "en", "html[lang] to become en again")
    assert browser.find_element(By.CSS_SELECTOR, "header.site nav a[href='/citizen/']").text == english_home
    screenshot("05-home-back-in-english")


def test_open_a_dataset_page_and_download_its_csv(browser, site: Site, screenshot):
    open_page(browser, site, "/citizen/data/?lang=en")
    browser.find_element(By.CSS_SELECTOR, 'a[href="/citizen/data/tap_coverage"]').click()
    wait_for(lambda: browser.current_url.endswith("/citizen/data/tap_coverage"), "the dataset page")
    json_ld = browser.find_element(By.CSS_SELECTOR, 'script[type="application/ld+json"]').get_attribute("innerHTML")
    assert '"Dataset"' in json_ld
    screenshot("06-dataset-page")
    link = browser.find_element(By.CSS_SELECTOR, 'a[href$="/opendata/v1/datasets/tap_coverage/download/csv"]')
    link.click()
    done = wait_for(lambda: [p for p in site.downloads.glob("*.csv") if p.stat().st_size > 0]
                    and not list(site.downloads.glob("*.crdownload")), "the CSV download to finish")
    assert done
    [path] = list(site.downloads.glob("*.csv"))
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows, "the downloaded CSV has no rows"
    header = list(rows[0])
    assert {"level", "lgd_code", "name"} <= set(header)
    flags = [c for c in header if c.endswith("_suppressed")]
    assert flags, f"no suppression marker column in {header}"
    # a suppressed cell is empty, never a fake 0
    for row in rows:
        for flag in flags:
            if row[flag].lower() == "true":
                assert row[flag.removesuffix("_suppressed")] == ""


def test_official_signs_in_and_sees_the_dashboard(browser, site: Site, screenshot):
    open_page(browser, site, "/officials/?lang=en")
    wait_for(lambda: "/officials/login" in browser.current_url, "the redirect to the sign-in page")
    screenshot("07-officials-sign-in")
    browser.find_element(By.ID, "username").send_keys("block_official")
    browser.find_element(By.ID, "password").send_keys("demo-block_official")
    browser.find_element(By.CSS_SELECTOR, "form.official button[type=submit]").click()
    wait_for(lambda: browser.find_elements(By.ID, "panel-coverage"), "the dashboard after signing in")
    assert site.block_name in browser.find_element(By.ID, "jurisdiction").text
    for panel in ("panel-water-quality", "panel-functionality", "panel-overdue-tests", "panel-remedial-actions"):
        assert browser.find_element(By.ID, panel).text.strip()
    assert browser.get_cookie("jaldpi_official")["httpOnly"] is True
    assert browser.execute_script("return document.cookie").find("jaldpi_official") == -1  # not readable by scripts
    screenshot("08-officials-dashboard")
    # sign out: the session cookie goes, the dashboard asks to sign in again
    browser.find_element(By.CSS_SELECTOR, "form[action='/officials/logout'] button").click()
    wait_for(lambda: "/officials/login" in browser.current_url, "the sign-in page after signing out")
    assert browser.get_cookie("jaldpi_official") is None


def test_keyboard_reaches_the_skip_link_and_the_search_box(browser, site: Site, screenshot):
    open_page(browser, site, "/citizen/?lang=en")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    active = browser.switch_to.active_element
    assert "skip" in (active.get_attribute("class") or "") and active.get_attribute("href").endswith("#main")
    screenshot("09-keyboard-skip-link")
    for _ in range(30):
        if browser.switch_to.active_element.get_attribute("id") == "village-q":
            break
        browser.switch_to.active_element.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("id") == "village-q", "Tab never reached the search box"
    screenshot("10-keyboard-search-box")


def test_citizen_files_a_complaint_and_tracks_it(browser, site: Site, screenshot):
    village = site.sample["village"]
    open_page(browser, site, f"/citizen/village/{village}?lang=en")
    browser.find_element(By.ID, "report-link").click()
    wait_for(lambda: browser.current_url.split("?")[0].endswith(f"/citizen/village/{village}/report"),
             "the report form")
    Select(browser.find_element(By.ID, "report-category")).select_by_value("low_pressure")
    browser.find_element(By.ID, "report-description").send_keys("Very low pressure at the tail end since a week")
    screenshot("11-report-a-problem")
    browser.find_element(By.CSS_SELECTOR, "form.citizen button[type=submit]").click()
    reference = wait_for(lambda: browser.find_elements(By.ID, "grievance-reference"), "the reference number")[0].text
    pin = browser.find_element(By.ID, "grievance-pin").text
    assert reference and len(pin) == 6 and pin.isdigit()
    assert pin not in browser.current_url  # the PIN is never in a URL
    screenshot("12-complaint-registered")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Track this complaint").click()
    wait_for(lambda: browser.find_elements(By.ID, "grievance-status"), "the tracking page")
    assert reference in browser.find_element(By.TAG_NAME, "h1").text
    assert browser.find_element(By.ID, "grievance-status").text.strip()
    # the home page's box finds it too
    open_page(browser, site, "/citizen/?lang=en")
    box = browser.find_element(By.ID, "track-ref")
    box.send_keys(reference.lower())
    box.send_keys(Keys.ENTER)
    wait_for(lambda: browser.find_elements(By.ID, "grievance-status"), "the tracking page from the home page")
    screenshot("13-track-a-complaint")
