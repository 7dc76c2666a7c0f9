"""The centre report's hours of completed learning are a figure like the others: "100", not "1E+2" (a Decimal's
``normalize()``), and "12,5" with the Vietnamese decimal comma."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from courses import services
from courses.services import Mark
from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import login, make_user
from tests.courses.conftest import make_centre, make_class


def _hours_cells(html: str) -> list[str]:
    table = html[html.index('id="report-categories"') :]
    table = table[: table.index("</table>")]
    return [cell.strip() for cell in re.findall(r'<td class="text-end">([^<]*)</td>\s*</tr>', table)]


def test_hours_of_completed_learning_are_written_as_numbers(app_ctx, client):
    centre = make_centre(learners=8, label="HRS")
    centre.course.planned_hours = Decimal("12.5")
    needs = services.create_course(
        unit=centre.commune, code="HRS-2", name="Nuôi ong", category="needs_based", planned_hours=Decimal("12.5")
    )
    eight = make_class(centre)  # 8 learners × 12,5 hours = 100 hours
    (session,) = services.schedule(eight, [(datetime(2026, 3, 3, 19), datetime(2026, 3, 3, 21))])
    services.enrol(eight, [p.id for p in centre.learners])
    services.record_attendance(
        session, [Mark(p.id, "present", datetime(2026, 3, 3, 12, 5)) for p in centre.learners], user_id=None
    )
    one = services.create_class(
        course=needs, clc=centre.clc, name="Lớp nuôi ong", capacity=5, starts_on=eight.starts_on, ends_on=eight.ends_on
    )
    (bees,) = services.schedule(one, [(datetime(2026, 3, 5, 8), datetime(2026, 3, 5, 10))])
    services.enrol(one, [centre.learners[0].id])
    services.record_attendance(bees, [Mark(centre.learners[0].id, "present", datetime(2026, 3, 5, 1))], user_id=None)
    services.recompute_class(eight.id, as_of=datetime(2026, 4, 1))
    services.recompute_class(one.id, as_of=datetime(2026, 4, 1))
    manager = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, manager)
    page = client.get(f"/courses/clcs/{centre.clc.id}/report?from=2026-03-01&to=2026-03-31")
    assert page.status_code == 200
    assert sorted(_hours_cells(page.get_data(as_text=True))) == ["100", "12,5"]
