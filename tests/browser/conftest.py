"""Browser tests: the embedded deployment (gunicorn + a Celery worker on the SQLite broker, as ``make run``
starts it) in a temporary instance folder, driven by Playwright in the system's headless Chromium.

No browser, no pass: a missing Chromium is an error, never a skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import expect

from lms import create_app
from lms.extensions import db
from tests.conftest import activate_celery

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PHONE = {"width": 390, "height": 844}  # a common phone viewport
# How long a step may wait for the page: what the pages are given (set_default_timeout). CI runs the SQLite half
# (with these tests) and the PostgreSQL half at once on two cores; a logout under that load once took more than 15 s.
TIMEOUT_MS = 30_000

# Playwright's expect() waits 5 s by default, not the pages' 15 s: on a loaded machine the vendored Swagger UI was
# still "loading" after 5 s and test_csp_journey failed. An assertion that holds returns as soon as it holds, so the
# longer wait costs nothing when the page is on time.
expect.set_options(timeout=TIMEOUT_MS)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The stack, its app and the browser last for the browser tests (package scope), not for the session: stopped after
# them, their processes (two gunicorn workers, a worker polling its SQLite broker every second, Chromium) no longer
# take the processor from the rest of the run.
@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A migrated SQLite instance with the reference units, a web server and a worker, both real processes."""
    instance = tmp_path_factory.mktemp("instance")
    port = _free_port()
    env = {
        **os.environ,
        "LMS_ENV": "development",
        "LMS_INSTANCE_PATH": str(instance),
        "LMS_DATABASE_URL": f"sqlite:///{instance / 'lms.sqlite'}",
        "LMS_BROKER_URL": f"sqla+sqlite:///{instance / 'broker.sqlite'}",
        "LMS_RESULT_BACKEND": "",
        "LMS_SECRET_KEY": "browser-test-secret",
        "LMS_PII_KEY": "browser-test-pii",
        # Every journey logs in from 127.0.0.1: the production budget (50 per hour per address) would refuse the
        # later journeys of a run. The limits themselves are tested in tests/auth/test_rate_limit.py.
        "LMS_LOGIN_RATE_LIMIT": "10000 per hour",
        "LMS_LOGIN_ACCOUNT_RATE_LIMIT": "10000 per hour",
    }
    env.pop("LMS_TEST_DATABASE_URL", None)
    flask = [str(BIN / "flask"), "--app", "lms"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*flask, "load-units"], cwd=ROOT, env=env, check=True, capture_output=True)
    logs = instance / "logs"
    logs.mkdir()
    processes = []
    for name, command in {
        "web": [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2", "lms:create_app()"],
        "worker": [
            str(BIN / "celery"),
            "-A",
            "lms.worker",
            "worker",
            "--pool",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ],
    }.items():
        out = (logs / f"{name}.log").open("wb")
        processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_http(f"{base_url}/healthz", processes, logs)
        yield {"base_url": base_url, "env": env, "instance": instance}
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_for_http(url: str, processes: list[subprocess.Popen], logs: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                dump = "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in logs.iterdir())
                pytest.fail(f"a process of the stack exited with {process.returncode}:\n{dump}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - a fixed http://127.0.0.1 URL
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{url} did not answer within 60 s")


@pytest.fixture(scope="package")
def stack_app(stack: dict, app: Flask) -> Flask:
    """An app on the stack's database, for the tests to arrange data in (it commits: other processes read it)."""
    env = stack["env"]
    stack_app = create_app(
        {
            "ENV_NAME": "development",
            "SQLALCHEMY_DATABASE_URI": env["LMS_DATABASE_URL"],
            "SECRET_KEY": env["LMS_SECRET_KEY"],
            "PII_KEY": env["LMS_PII_KEY"],
            "CELERY": {**app.config["CELERY"], "broker_url": env["LMS_BROKER_URL"], "task_always_eager": False},
        }
    )
    activate_celery(app)  # the other tests keep running tasks eagerly
    return stack_app


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail("Chromium is not installed: run 'apt-get install chromium' (make test does it as root)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def phone(browser, stack: dict, request: pytest.FixtureRequest) -> Iterator[object]:
    """A page in a phone-sized viewport; its last screen is kept in test-results/ for a person to look at."""
    context = browser.new_context(
        viewport=PHONE, base_url=stack["base_url"], locale="vi-VN", is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    out = ROOT / "test-results"
    out.mkdir(exist_ok=True)
    page.screenshot(path=str(out / f"{request.node.name}.png"), full_page=True)
    context.close()


def commit(app: Flask, work) -> object:
    with app.app_context():
        result = work()
        db.session.commit()
        return result
