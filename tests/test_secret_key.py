"""Outside production, with no LMS_SECRET_KEY, each instance signs with a key it generated, never a published one."""

from __future__ import annotations

import stat

import lms
from lms import create_app
from lms.core.instance_key import instance_secret_key
from tests.conftest import activate_celery


def test_each_instance_generates_its_own_key_once(tmp_path):
    first = instance_secret_key(tmp_path / "one")
    assert len(first) >= 32
    assert instance_secret_key(tmp_path / "one") == first
    assert instance_secret_key(tmp_path / "two") != first
    key_file = tmp_path / "one" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "one").iterdir()] == ["secret_key"]  # no draft left behind


def test_a_development_app_without_a_configured_key_uses_the_instance_key(app, tmp_path, monkeypatch):
    monkeypatch.delenv("LMS_SECRET_KEY", raising=False)
    monkeypatch.setattr(lms, "INSTANCE_DIR", tmp_path)
    try:
        dev = create_app(
            {
                "ENV_NAME": "development",
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
                "RATELIMIT_ENABLED": False,
                "SECRET_KEY": None,
            }
        )
    finally:
        activate_celery(app)
    assert dev.config["SECRET_KEY"] == (tmp_path / "secret_key").read_text()
    assert "dev-only" not in dev.config["SECRET_KEY"]
