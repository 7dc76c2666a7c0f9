"""Contract tests: every operation of the generated OpenAPI document, fuzzed by schemathesis from the document
itself, as a commune-scoped user over a small commune of data. Each answer must not be a server error, must carry a
status the document declares, and must match the schema declared for that status (issue 12)."""

from __future__ import annotations

from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from lms.auth.models import ApiToken, Role
from lms.extensions import db
from tests.conftest import make_user
from tests.courses.test_it_skills import hand_made_commune

#: Examples per operation: enough to reach every branch of the schemas (hypothesis shrinks failures), small enough
#: that the whole document runs in about a minute.
EXAMPLES = 20


@pytest.fixture
def bearer(app_ctx):
    """A centre manager of one commune (a commune-scoped role with most of the API's permissions), with the commune's
    officers, members, a CLC and a village of households to find."""
    commune = hand_made_commune(label="C")
    user = make_user(Role.CENTRE_MANAGER, commune.unit, "contract@example.vn")
    user.person_id = commune.chair.id
    _, secret = ApiToken.issue(user, "contract tests")
    db.session.commit()
    assert date.today().year >= 2026
    return {"Authorization": f"Bearer {secret}"}


CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def test_every_operation_keeps_its_contract(app, app_ctx, bearer):
    """Valid data (positive) and data that breaks the schema on purpose (negative) for every operation: no 5xx,
    no undeclared status, no answer that differs from its schema. Failures are collected over the whole document
    and reported together, each with its shrunk example."""
    api = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    operations = 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,  # the same cases on every run: a CI failure reproduces on a laptop
                database=None,
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
            )
            def keeps_its_contract(case):
                response = case.call(headers=bearer)
                case.validate_response(response, checks=CHECKS)

            try:
                keeps_its_contract()
            except Exception as exc:  # noqa: BLE001 - every operation is tried; the failures are reported together
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert operations >= 20
    assert not failures, "\n\n".join(failures)
