"""The lab's "review the runs in the UI" step, done in a real browser.

The session's `lab` fixture has run the lab notebook against a real `mlflow server`
(tests/conftest.py). Here headless Chromium (Debian's, driven by Playwright; see
tests/browser.py) opens that server's MLflow UI as a learner does after
`python scripts/run_lab.py --keep-server`, and checks what the lab guide
(docs/lab-guide.md) says they will see:

- the experiment page lists the lab's three runs, and its Columns selector adds the
  metrics (rmse, mae, r2) and parameters, with the values the tracking API returns;
- each run's page shows its three parameters and three metrics, with those values;
- the run's artifacts include LinearRegressionPrediction.png, and the artifact viewer
  renders it (an image of the PNG's own size).
- after the Managing Models notebook (03) has run with keep_model=yes, the registered model's
  page lists its versions, the one the alias `champion` names marked with it.

Screenshots go to .test-output/screenshots/; with UPDATE_GUIDE_SCREENSHOTS=1 also to
docs/images/, which is how the guide's screenshots are refreshed:

    UPDATE_GUIDE_SCREENSHOTS=1 python -m pytest tests/test_browser.py

The UI is MLflow 3.17's: an experiment opens on its GenAI "Overview"; the runs table is
under the "Model training" switch, and shows metric and parameter columns once they are
ticked in "Columns". Its cells carry the run id (row-id) and the column key (col-id,
e.g. metrics.`rmse`), which is how a value is matched to its run.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from browser import PageCheck, chromium, missing_browser, new_page, png_size
from conftest import PROJECT, execute_lab
from mlflow.tracking import MlflowClient

PARAMS = ["elastic_net_param", "reg_param", "max_iter"]
METRICS = ["rmse", "mae", "r2"]
PLOT = "LinearRegressionPrediction.png"
RUNS_IN_LAB = 3  # the notebook's cells "Run 1", "Run 2" and "Run 3"

# Skipped at once (before the session runs the lab) where there is no browser, except in CI, which
# installs one (.ci/install-browser.sh): there the `browser` fixture fails instead.
MISSING_BROWSER = missing_browser()
pytestmark = [
    pytest.mark.skipif(bool(MISSING_BROWSER and not os.environ.get("CI")), reason=str(MISSING_BROWSER)),
    pytest.mark.xdist_group("lab"),  # with pytest -n: on the worker that runs the lab once for all
]


@pytest.fixture(scope="module")
def browser():
    if MISSING_BROWSER:
        pytest.fail(f"browser tests cannot run: {MISSING_BROWSER}")
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def lab_runs(lab):
    """The experiment the lab logged to, and its runs, oldest first, as the tracking API returns them."""
    client = MlflowClient(lab.tracking_uri)
    experiment = client.get_experiment_by_name(lab.experiment_name)
    assert experiment is not None, f"the lab created no experiment {lab.experiment_name!r}"
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
    assert len(runs) == RUNS_IN_LAB, f"expected {RUNS_IN_LAB} runs in {lab.experiment_name!r}, found {len(runs)}"
    return experiment, runs


@pytest.fixture
def open_tab(browser):
    """`open_tab(**viewport)`: a page in a fresh browser context, closed after the test."""
    pages = []

    def open_page(**viewport):
        pages.append(new_page(browser, **viewport))
        return pages[-1]

    yield open_page
    for page in pages:
        page.context.close()


@pytest.fixture
def screenshots(test_output) -> Path:
    return test_output / "screenshots"


def shows_value(text: str, value: float) -> bool:
    """Whether `text` is the metric `value` as a UI shows it: in full, or rounded to the digits it shows."""
    text = text.strip()
    try:
        shown = float(text)
    except ValueError:
        return False
    decimals = None if "e" in text.lower() else len(text.partition(".")[2])
    return shown == value or (decimals is not None and round(value, decimals) == shown)


def open_runs_table(page, check: PageCheck, uri: str, experiment_id: str) -> None:
    """The experiment's URL (what run_lab.py --keep-server prints), then the "Model training" switch."""
    # The GenAI overview greets a new visitor with a "Detect Issues" tip that blocks clicks until dismissed.
    page.add_locator_handler(page.get_by_role("button", name="Got it"), lambda button: button.click())
    page.goto(f"{uri}/#/experiments/{experiment_id}")
    check.expect_text("Model training", "the 'Model training' switch").click()
    check.expect(page.get_by_role("button", name="Columns"), "the runs table's 'Columns' selector")
    # The assistant panel takes a third of the width; closing it leaves room for the metric columns.
    assistant_close = page.get_by_role("button", name="Close")
    if assistant_close.count():
        assistant_close.first.click()


def test_experiment_page_lists_runs_with_metrics(open_tab, lab, lab_runs, screenshots):
    experiment, runs = lab_runs
    page = open_tab()
    check = PageCheck(page, "experiment page", screenshots)
    open_runs_table(page, check, lab.tracking_uri, experiment.experiment_id)

    for run in runs:
        check.expect(page.get_by_role("link", name=run.info.run_name, exact=True), f"run {run.info.run_name!r}")
    # The rows of the table are the experiment's runs, no more, no fewer.
    row_ids = {row.get_attribute("row-id") for row in page.locator("[role=row][row-id]").all()}
    assert row_ids == {run.info.run_id for run in runs}, f"experiment page: table rows {row_ids}"

    page.get_by_role("button", name="Columns").click()
    check.expect(page.get_by_text(re.compile(r"^Metrics \(\d+\)$")), "'Metrics' in the column selector").click()
    check.expect(page.get_by_text(re.compile(r"^Parameters \(\d+\)$")), "'Parameters' in the column selector").click()
    page.keyboard.press("Escape")

    for key in [*(f"metrics.`{m}`" for m in METRICS), *(f"params.`{p}`" for p in PARAMS)]:
        check.expect(page.locator(f'[role=columnheader][col-id="{key}"]'), f"a column {key}")
    for run in runs:
        name, row = run.info.run_name, f'[role=row][row-id="{run.info.run_id}"]'
        for metric in METRICS:
            cell = check.expect(page.locator(f'{row} [col-id="metrics.`{metric}`"]'), f"{metric} of {name}")
            text, value = cell.inner_text(), run.data.metrics[metric]
            assert shows_value(text, value), f"experiment page: {name} {metric} shows {text!r}, API {value}"
        for param in PARAMS:
            cell = check.expect(page.locator(f'{row} [col-id="params.`{param}`"]'), f"{param} of {name}")
            text, value = cell.inner_text().strip(), run.data.params[param]
            assert text == value, f"experiment page: {name} {param} shows {text!r}, API {value!r}"

    check.screenshot("experiment")


def test_compare_shows_the_three_runs(open_tab, lab, lab_runs, screenshots):
    experiment, runs = lab_runs
    page = open_tab()
    check = PageCheck(page, "compare page", screenshots)
    open_runs_table(page, check, lab.tracking_uri, experiment.experiment_id)
    for run in runs:
        row = f'[role=row][row-id="{run.info.run_id}"]'
        check.expect(page.locator(f"{row} input[type=checkbox]"), f"the check box of {run.info.run_name}").check()
    check.expect(page.get_by_role("button", name="Compare"), "the 'Compare' button").click()

    check.expect_text(f"Comparing {len(runs)} Runs from 1 Experiment", "the compare page's title")
    for run in runs:
        check.expect(page.get_by_role("link", name=run.info.run_id, exact=True), f"run id {run.info.run_id}")
        check.expect_text(run.info.run_name, f"run name {run.info.run_name!r}")

    # One column per run, in the order of the "Run ID:" row; a parameter's row has its value in each.
    def row_values(label: str) -> list[str]:
        row = page.get_by_role("row").filter(has=page.get_by_text(label, exact=True))
        return check.expect(row, f"the row {label!r}").inner_text().strip().removeprefix(label).split()

    by_id = {run.info.run_id: run for run in runs}
    column_runs = [by_id[run_id] for run_id in row_values("Run ID:")]
    for param in PARAMS:
        shown = row_values(param)
        assert shown == [run.data.params[param] for run in column_runs], f"{check.name}: {param} row shows {shown}"


def open_run_page(open_tab, check_name, lab, experiment, run, screenshots):
    """A run's page by its URL, after the learner's first step (the runs table in "Model training")."""
    page = open_tab(height=1100)  # room for the whole plot in the artifact viewer
    check = PageCheck(page, check_name, screenshots)
    open_runs_table(page, check, lab.tracking_uri, experiment.experiment_id)
    check.expect(page.get_by_role("link", name=run.info.run_name, exact=True), f"run {run.info.run_name!r}")
    page.goto(f"{lab.tracking_uri}/#/experiments/{experiment.experiment_id}/runs/{run.info.run_id}")
    check.expect(page.get_by_role("heading", name=run.info.run_name), f"the run name {run.info.run_name!r}")
    return page, check


def table_value(page, check: PageCheck, key: str, what: str) -> str:
    """The Value cell of the row whose first cell is `key` (the run page's metrics and parameters tables)."""
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=key, exact=True))
    check.expect(row, what)
    return row.first.get_by_role("cell").nth(1).inner_text().strip()


@pytest.mark.parametrize("index", range(RUNS_IN_LAB), ids=[f"run{i + 1}" for i in range(RUNS_IN_LAB)])
def test_run_page_shows_params_and_metrics(open_tab, lab, lab_runs, screenshots, index):
    experiment, runs = lab_runs
    run = runs[index]
    page, check = open_run_page(open_tab, f"run page of {run.info.run_name}", lab, experiment, run, screenshots)

    for param in PARAMS:
        shown = table_value(page, check, param, f"parameter {param}")
        assert shown == run.data.params[param], f"{check.name}: {param} shows {shown!r}, API {run.data.params[param]!r}"
    for metric in METRICS:
        shown, value = table_value(page, check, metric, f"metric {metric}"), run.data.metrics[metric]
        assert shows_value(shown, value), f"{check.name}: {metric} shows {shown!r}, API {value}"

    if index == 0:
        check.screenshot("run")


def test_run_artifact_plot_renders(open_tab, lab, lab_runs, screenshots):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # installed: the browser fixture checked

    experiment, runs = lab_runs
    run = runs[0]
    client = MlflowClient(lab.tracking_uri)
    with tempfile.TemporaryDirectory() as folder:
        expected = png_size(Path(client.download_artifacts(run.info.run_id, PLOT, folder)).read_bytes())

    page, check = open_run_page(open_tab, f"artifacts of {run.info.run_name}", lab, experiment, run, screenshots)
    check.expect(page.get_by_role("tab", name="Artifacts"), "the 'Artifacts' tab").click()
    check.expect_text(PLOT, f"{PLOT} in the artifact list").click()

    # The viewer shows the PNG as an <img>; it has loaded when it has the file's own size.
    try:
        page.wait_for_function(
            """([width, height]) => [...document.images].some(
                   image => image.complete && image.naturalWidth === width && image.naturalHeight === height)""",
            arg=list(expected),
            timeout=20_000,
        )
    except PlaywrightTimeout:  # say what images there are instead
        images = page.evaluate("() => [...document.images].map(i => [i.src.slice(0, 60), i.naturalWidth])")
        path = check.screenshot("failed-artifact")
        raise AssertionError(
            f"{check.name}: no <img> of {PLOT} ({expected[0]}x{expected[1]}) rendered after 20 s; "
            f"images on the page (src, width): {images}; screenshot at {path}"
        ) from None
    check.screenshot("artifact")


# --- the Managing Models notebook's registered model ---------------------------------------------------

MODELS_NOTEBOOK = PROJECT / "notebooks" / "03-managing-models.py"
LOCAL_MODEL = "dp090-nyc-taxi"  # the notebook's default name outside Databricks, as the guide names it


@pytest.fixture(scope="module")
def kept_model(tracking_server, tmp_path_factory):
    """Notebook 03 run once with keep_model=yes against the session's server: its model stays, as the guide's
    local section has the learner do before `mlflow models serve`."""
    execution = execute_lab(
        tracking_server.uri,
        tmp_path_factory.mktemp("managing-models-browser"),
        str(MODELS_NOTEBOOK),
        "--param",
        "keep_model=yes",
    ).check()
    client = MlflowClient(execution.tracking_uri, registry_uri=execution.tracking_uri)
    versions = client.search_model_versions(f"name = '{LOCAL_MODEL}'")
    champion = client.get_model_version_by_alias(LOCAL_MODEL, "champion")
    return execution.tracking_uri, sorted(int(version.version) for version in versions), champion.version


def test_model_page_shows_the_versions_and_the_champion(open_tab, kept_model, screenshots):
    uri, versions, champion = kept_model
    page = open_tab()
    check = PageCheck(page, "registered model page", screenshots)
    page.goto(f"{uri}/#/models/{LOCAL_MODEL}")
    check.expect(page.get_by_role("heading", name=LOCAL_MODEL), f"the model's name {LOCAL_MODEL!r}")
    for version in versions:  # the versions the registry API returns, each a link of the table
        check.expect(page.get_by_role("link", name=f"Version {version}", exact=True), f"version {version}")
    # The alias is shown beside the version it names, in that version's row.
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=f"Version {champion}", exact=True))
    check.expect(row.filter(has_text="champion"), f"@champion in the row of version {champion}")
    # The assistant panel takes a third of the width (as on the runs table): closed, the table shows in full.
    assistant_close = page.get_by_role("button", name="Close")
    if assistant_close.count():
        assistant_close.first.click()
    check.screenshot("model")
    # The guide deletes a kept model by hand with the page's menu (the button beside its name): Delete is there.
    page.locator("h1, h2").filter(has_text=LOCAL_MODEL).locator("xpath=following::button[1]").first.click()
    check.expect(page.get_by_role("menuitem", name="Delete"), "'Delete' in the model page's menu")
