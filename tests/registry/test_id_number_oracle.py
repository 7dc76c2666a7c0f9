"""Setting an ID number that another person holds: the answer does not tell whether, or where, that person
exists; every refusal is audited, and too many refusals in an hour stop further attempts."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func

from lms.auth.models import Role
from lms.core.models import AuditEvent
from lms.extensions import db
from lms.registry import services
from lms.registry.importer import create_job
from lms.registry.models import ImportJob, Person
from tests.conftest import csrf_token, login, make_household, make_user, make_village, unit_by_code

NUMBER_IN_B = "062090007777"
NUMBER_IN_A = "062090008888"
TAKEN = ("another person", "already", "người khác", "đã có", "đã thuộc")


def _person(code: str, label: str, name: str) -> Person:
    household = make_household(make_village(unit_by_code(code), f"ORC-{label}", f"Thôn {label}"), label, name)
    return household.members[0]


def _edit(client, person: Person, number: str):
    url = f"/registry/persons/{person.id}/edit"
    return client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "full_name": person.full_name,
            "occupation_group": "worker",
            "id_number": number,
        },
    )


def _error_of(html: str) -> str:
    start = html.index('class="invalid-feedback')
    return html[start : html.index("</div>", start)]


def _setup():
    mine = _person("23293", "A1", "Y Một")
    neighbour = _person("23293", "A2", "Y Hai")
    stranger = _person("23302", "B1", "Y Ba")
    services.set_id_number(neighbour, NUMBER_IN_A)
    services.set_id_number(stranger, NUMBER_IN_B)
    user = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"), "oracle@example.vn")
    db.session.commit()
    return mine, stranger, user


def test_a_number_held_in_another_commune_gets_the_same_neutral_answer(app_ctx, client):
    mine, stranger, user = _setup()
    login(client, user)
    elsewhere = _edit(client, mine, NUMBER_IN_B)
    nearby = _edit(client, mine, NUMBER_IN_A)
    assert elsewhere.status_code == nearby.status_code == 200
    assert _error_of(elsewhere.get_data(as_text=True)) == _error_of(nearby.get_data(as_text=True))
    assert not [word for word in TAKEN if word in _error_of(elsewhere.get_data(as_text=True))]
    api = client.patch(
        f"/api/v1/persons/{mine.id}", json={"id_number": NUMBER_IN_B}, headers={"X-CSRFToken": csrf_token(client, "/")}
    )
    assert api.status_code == 422
    assert not [word for word in TAKEN if word in api.get_data(as_text=True)]
    refusals = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "person.id_number_refused", AuditEvent.user_id == user.id)
    ).all()
    assert len(refusals) == 3
    assert {event.details["holder_id"] for event in refusals} >= {stranger.id}
    db.session.expire_all()
    assert db.session.get(Person, mine.id).id_number_hash is None


def test_too_many_refusals_stop_further_attempts(app_ctx, client):
    mine, _, user = _setup()
    login(client, user)
    for _ in range(services.ID_NUMBER_REFUSALS_PER_HOUR):
        _edit(client, mine, NUMBER_IN_B)
    # A free number is refused now too: the guessing stops, whatever is guessed.
    response = _edit(client, mine, "062090009999")
    assert response.status_code == 200
    assert "quá nhiều số định danh bị từ chối" in _error_of(response.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Person, mine.id).id_number_hash is None
    other = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"), "oracle-2@example.vn")
    db.session.commit()
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, other)
    assert _edit(client, mine, "062090009999").status_code == 302


# --- the same rule for a spreadsheet import of households --------------------------------------------------------

HEADER = ["village_code", "household_code", "full_name", "id_number"]
FREE = "062090009999"
FORM_ANSWER_VI = (
    "Không thể ghi số định danh này cho người này. Hãy đối chiếu với thẻ căn cước của người đó; nếu số đúng, "
    "hãy báo quản trị viên."
)


def _import(user, rows):
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADER, *rows])
    job = create_job(
        kind="households", filename="h.csv", content=buffer.getvalue().encode(), unit=unit_by_code("23293"), user=user
    )
    db.session.commit()
    db.session.expire_all()
    return db.session.get_one(ImportJob, job.id)


def _refusals(user) -> list[AuditEvent]:
    return db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "person.id_number_refused", AuditEvent.user_id == user.id)
    ).all()


def test_an_import_row_gets_the_forms_neutral_answer_and_is_audited(app_ctx):
    mine, stranger, user = _setup()
    neighbour = services.find_person_by_id_number(NUMBER_IN_A)
    village = mine.household.village.code
    job = _import(
        user,
        [
            [village, "NEW-1", "Y Bốn", NUMBER_IN_B],
            [village, "NEW-2", "Y Năm", NUMBER_IN_A],
            [village, "NEW-3", "Y Sáu", FREE],
        ],
    )
    assert job.status == "failed"
    assert [(e["row"], e["column"]) for e in job.errors] == [(2, "id_number"), (3, "id_number")]
    # Elsewhere or next door: one answer, the person form's, which says neither "someone has it" nor where.
    assert job.errors[0]["message"] == job.errors[1]["message"]
    assert job.errors[0]["message_vi"] == job.errors[1]["message_vi"] == FORM_ANSWER_VI
    assert not [word for word in TAKEN if word in job.errors[0]["message"] + job.errors[0]["message_vi"]]
    events = _refusals(user)
    assert sorted(event.details["holder_id"] for event in events) == sorted([stranger.id, neighbour.id])
    assert {event.object_id for event in events} == {str(job.id)}
    assert db.session.scalar(db.select(func.count(Person.id)).where(Person.full_name == "Y Sáu")) == 0


def test_an_import_counts_towards_the_same_hourly_limit(app_ctx, client):
    mine, _, user = _setup()
    village = mine.household.village.code
    login(client, user)
    for _ in range(services.ID_NUMBER_REFUSALS_PER_HOUR - 1):
        _edit(client, mine, NUMBER_IN_B)
    # One refusal left: the file's first held number is answered, the rest only as "too many".
    job = _import(
        user, [[village, f"NEW-{n}", f"Y {n}", number] for n, number in enumerate((NUMBER_IN_B, NUMBER_IN_A))]
    )
    assert [(e["row"], e["message_vi"]) for e in job.errors] == [
        (None, "Đã có quá nhiều số định danh bị từ chối trong một giờ qua: vui lòng thử lại sau."),
        (2, FORM_ANSWER_VI),
    ]
    assert len(_refusals(user)) == services.ID_NUMBER_REFUSALS_PER_HOUR - 1 + 2
    # Past the limit, a file of free numbers gets the same answer as a file of held ones: nothing to learn.
    free, held = (
        _import(user, [[village, "NEW-9", "Y Chín", FREE]]),
        _import(user, [[village, "NEW-8", "Y Tám", NUMBER_IN_B]]),
    )
    assert free.status == held.status == "failed"
    assert [(e["row"], e["message"]) for e in free.errors] == [(e["row"], e["message"]) for e in held.errors]
    assert [e["row"] for e in free.errors] == [None]
    assert "Too many refused ID numbers" in free.errors[0]["message"]
