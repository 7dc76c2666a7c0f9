"""A replaced configuration file with a mistake stops the app at start-up, naming the file, the entry, the line and
what is wrong — it showed only as a 500 on the first page that read it (lms/checks.py). ``flask check-config`` checks a
file before an administrator points the setting at it."""

from __future__ import annotations

import pytest

from lms import create_app
from lms.core.configfile import ConfigFileError
from lms.registry import issuers
from lms.titles import approvals
from tests.conftest import activate_celery


def _build(database_url, **config):
    return create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url, **config})


def test_a_malformed_issuers_file_stops_the_start_with_its_line(database_url, tmp_path):
    own = tmp_path / "issuers.toml"
    own.write_text('[commune]\nissuer = ["Ủy ban nhân dân", "{place}"]\nsymbol = "BC-UBND\n', encoding="utf-8")
    with pytest.raises(issuers.IssuersConfigError) as refused:
        _build(database_url, REPORT_ISSUERS_FILE=str(own))
    message = str(refused.value)
    assert str(own) in message
    assert "not valid TOML" in message
    assert "line 3" in message


def test_an_issuers_entry_with_an_unknown_key_names_the_section_and_line(database_url, tmp_path):
    own = tmp_path / "issuers.toml"
    own.write_text(
        '# who files\n\n[province]\nissuer = ["Hội Khuyến học {place}"]\n\n'
        '[commune]\nissuer = ["Ủy ban"]\nsigners = ["Chủ tịch"]\n',
        encoding="utf-8",
    )
    with pytest.raises(issuers.IssuersConfigError, match=r"line 6 \[commune\]: signers unknown"):
        _build(database_url, REPORT_ISSUERS_FILE=str(own))


def test_a_missing_file_names_the_file_and_its_setting(database_url, tmp_path):
    gone = tmp_path / "nowhere.toml"
    with pytest.raises(approvals.ApprovalsConfigError) as refused:
        _build(database_url, TITLES_APPROVALS_FILE=str(gone))
    assert str(gone) in str(refused.value)
    assert "LMS_TITLES_APPROVALS_FILE" in str(refused.value)
    with pytest.raises(issuers.IssuersConfigError, match="LMS_REPORT_ISSUERS_FILE"):
        _build(database_url, REPORT_ISSUERS_FILE=str(gone))


def test_an_approvals_rule_with_an_unknown_body_names_the_title_and_line(database_url, tmp_path):
    own = tmp_path / "approvals.toml"
    text = approvals.DEFAULT_FILE.read_text(encoding="utf-8").replace(
        '[family]\nlevel = "commune"', '[family]\nlevel = "commune"\nbody = "club"'
    )
    own.write_text(text, encoding="utf-8")
    line = text.splitlines().index("[family]") + 1
    with pytest.raises(approvals.ApprovalsConfigError, match=rf"line {line} \[family\]: body must be one of"):
        _build(database_url, TITLES_APPROVALS_FILE=str(own))
    nested = approvals.DEFAULT_FILE.read_text(encoding="utf-8").replace(
        '[unit.managing_level.district]\nlevel = "province"', '[unit.managing_level.district]\nlevel = "district"'
    )
    own.write_text(nested, encoding="utf-8")
    line = nested.splitlines().index("[unit.managing_level.district]") + 1
    with pytest.raises(approvals.ApprovalsConfigError, match=rf"line {line} \[unit.managing_level.district\]"):
        _build(database_url, TITLES_APPROVALS_FILE=str(own))


def test_an_unknown_it_trained_definition_stops_the_start(database_url):
    with pytest.raises(ValueError, match="IT_TRAINED_DEFINITION"):
        _build(database_url, IT_TRAINED_DEFINITION="IU99")


def test_the_shipped_files_start_and_are_parsed_once(app, database_url):
    """Creating the app again (as tests do) reads neither file again: the check is as cheap as a cache look-up."""
    before = issuers._load.cache_info().hits, approvals._load.cache_info().hits
    try:
        _build(database_url)
    finally:
        activate_celery(app)
    assert issuers._load.cache_info().hits > before[0]
    assert approvals._load.cache_info().hits > before[1]


def test_check_config_checks_a_replacement_before_it_is_used(app, tmp_path):
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["check-config"])
    assert ok.exit_code == 0, ok.output
    assert f"ok: {issuers.DEFAULT_FILE}" in ok.output
    own = tmp_path / "approvals.toml"
    own.write_text('[citizen]\nlevel = "commune"\nauthority = "Hội Khuyến học {commune}"\n', encoding="utf-8")
    refused = runner.invoke(args=["check-config", "--approvals", str(own)])
    assert refused.exit_code == 1
    assert f"{own}: no entry for the title 'family'" in refused.output
    assert isinstance(refused.exception, SystemExit)
    assert issubclass(approvals.ApprovalsConfigError, ConfigFileError)
