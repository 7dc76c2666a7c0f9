"""Attendance with no signal (issue 16): an instructor opens a session with a signal, loses it, reloads the page and
marks 40 learners, closes the browser, opens it again, and with the signal back every mark is on the server exactly
once. Two phones marking the same learner differently while offline: the later mark stands whichever syncs first,
and the phone whose mark lost says so. A shared phone: one user's waiting marks are never shown to another. With a
signal too every tap is kept on the phone first (ADR 31); Background Sync sends with no page open; the page runs
under a policy without 'unsafe-inline'; and what a 40-learner session weighs over the wire is measured."""

from __future__ import annotations

import re
import shutil
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Error, expect
from sqlalchemy import func, select

from courses import services as courses
from courses.models import Attendance
from lms.api.models import IdempotentRequest
from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.extensions import db
from lms.registry import services
from lms.registry.models import AdminUnit, Clc, Household, Person, UnitLevel
from tests.browser.conftest import PHONE, TIMEOUT_MS, commit

PASSWORD = "mật khẩu không sóng"
LEARNERS = 40


def _arrange(label: str, people: int = LEARNERS, commune_code: str = "23293") -> dict:
    """A class meeting today (attendance opens on the session's day) in a village hall, ``people`` learners, a
    centre manager and an instructor."""
    commune = services.find_unit(commune_code, UnitLevel.COMMUNE)
    village = AdminUnit(
        code=f"OFF-{label}",
        name=f"Thôn Không Sóng {label}",
        kind="Thôn",
        level=UnitLevel.VILLAGE.value,
        parent=commune,
        path=f"tmp:OFF-{label}",
        valid_from=commune.valid_from,
    )
    db.session.add(village)
    db.session.flush()
    village.path = f"{commune.path}{village.id}/"
    household = Household(village_id=village.id, code=f"OFF-{label}")
    db.session.add(household)
    db.session.flush()
    learners = [
        Person(
            full_name=f"Học Viên {label} {i:02d}",
            unit_id=village.id,
            household_id=household.id,
            birth_date=date(1970 + i, 1, 1),
        )
        for i in range(people)
    ]
    db.session.add_all(learners)
    clc = Clc(commune_id=commune.id, name=f"Trung tâm học tập cộng đồng {label}")
    db.session.add(clc)
    db.session.flush()
    course = courses.create_course(
        unit=commune,
        code=f"OFF-{label}",
        name=f"Chăn nuôi {label}",
        category="needs_based",
        planned_hours=Decimal(6),
        min_attendance_share=Decimal("0.75"),
    )
    today = courses.local_now().date()
    course_class = courses.create_class(
        course=course,
        clc=clc,
        name=f"Lớp chăn nuôi {label}",
        capacity=60,
        starts_on=today,
        ends_on=today + timedelta(days=20),
    )
    (session,) = courses.schedule(course_class, [(datetime.combine(today, time(8)), datetime.combine(today, time(10)))])
    courses.enrol(course_class, [p.id for p in learners])
    users = {}
    for who, role in (("manager", Role.CENTRE_MANAGER), ("instructor", Role.INSTRUCTOR)):
        user = create_user(f"{who}.{label.lower()}@example.vn", f"{who.title()} {label}", PASSWORD)
        assign_role(user, role, commune)
        users[who] = (user.email, user.name, user.id)
    return {
        "class_name": course_class.name,
        "session_id": session.id,
        "learners": [p.id for p in learners],
        "users": users,
    }


def _launch(browser, stack: dict, profile: Path):
    """A phone's browser with its own profile on disk: closing and launching it again keeps its storage."""
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    context = browser.browser_type.launch_persistent_context(
        str(profile),
        executable_path=executable,
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync"],
        viewport=PHONE,
        base_url=stack["base_url"],
        locale="vi-VN",
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _page(context):
    page = context.pages[0] if context.pages else context.new_page()
    return page


def _log_in(page, email: str, name: str) -> None:
    page.goto("/")
    if page.get_by_label("Thư điện tử").count():
        page.get_by_label("Thư điện tử").fill(email)
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_text(f"Xin chào, {name}").wait_for()


def _open_attendance(page, class_name: str) -> None:
    page.get_by_role("button", name="Trình đơn").click()
    page.locator("#nav").get_by_role("link", name="Lớp học", exact=True).click()
    page.get_by_role("link", name=re.compile(class_name)).first.click()
    page.locator(".attendance-link").first.click()
    expect(page.locator("#roll .roll-row")).not_to_have_count(0)


def _ready(page) -> None:
    """With a signal, the phone has the worker and the session's roster kept."""
    expect(page.locator("#offline-status")).to_have_attribute("data-ready", "1")
    page.wait_for_function("navigator.serviceWorker.controller !== null")


def _tap(page, person_id: int, status: str) -> None:
    page.locator(f"label[for='s{person_id}-{status}']").click()


def _marks(app, session_id: int) -> dict[int, tuple[str, str | None]]:
    with app.app_context():
        rows = db.session.scalars(select(Attendance).where(Attendance.session_id == session_id))
        return {r.person_id: (r.status, r.client_mark_id) for r in rows}


def test_forty_marks_taken_offline_survive_closing_the_browser_and_reach_the_server_once(
    stack_app, browser, stack, tmp_path
):
    arranged = commit(stack_app, lambda: _arrange("A"))
    email, name, user_id = arranged["users"]["instructor"]
    session_id, learners = arranged["session_id"], arranged["learners"]
    wanted = {pid: ("absent" if i % 7 == 3 else "late" if i % 5 == 1 else "present") for i, pid in enumerate(learners)}
    profile = tmp_path / "phone"
    errors: list[str] = []

    context = _launch(browser, stack, profile)
    page = _page(context)
    page.on("pageerror", lambda error: errors.append(str(error)))
    _log_in(page, email, name)
    _open_attendance(page, arranged["class_name"])
    _ready(page)

    # The signal goes; the page opens again from what the phone keeps, and takes every mark.
    context.set_offline(True)
    page.reload()
    expect(page.locator("#offline-root #roll .roll-row")).to_have_count(LEARNERS)
    expect(page.locator("#offline-connection")).to_contain_text("Không có sóng")
    expect(page.get_by_text("Học Viên A 00")).to_be_visible()
    for pid, status in wanted.items():
        _tap(page, pid, status)
    expect(page.locator("#offline-status")).to_have_attribute("data-waiting", str(LEARNERS))
    expect(page.locator("#offline-waiting-count")).to_have_text(str(LEARNERS))
    assert _marks(stack_app, session_id) == {}
    # The installed app's start page lists the sessions the phone keeps, still with no signal, and the offline page
    # has the site's menu, folded behind its button on the phone as on every page: it leads to the sessions kept on
    # the phone and to the classes (which, with no signal, the worker answers with those sessions), and home, which
    # says it needs a connection (outside the worker's scope).
    page.get_by_role("button", name="Trình đơn").click()
    menu = page.locator("#nav")
    expect(menu.get_by_role("link", name="Trang đầu (cần có mạng)")).to_be_visible()
    menu.get_by_role("link", name="Các buổi học của bạn").click()
    page.locator("#offline-sessions a", has_text=arranged["class_name"]).click()
    expect(page.locator("#offline-status")).to_have_attribute("data-waiting", str(LEARNERS))
    page.get_by_role("button", name="Trình đơn").click()
    page.locator("#nav").get_by_role("link", name="Lớp học", exact=True).click()
    expect(page.locator("#offline-sessions a", has_text=arranged["class_name"])).to_be_visible()
    page.locator("#offline-sessions a", has_text=arranged["class_name"]).click()
    expect(page.locator("#offline-status")).to_have_attribute("data-waiting", str(LEARNERS))
    context.close()

    # The browser is opened again, with the signal back: the marks were kept, and go to the server once.
    context = _launch(browser, stack, profile)
    page = _page(context)
    page.on("pageerror", lambda error: errors.append(str(error)))
    _log_in(page, email, name)
    _open_attendance(page, arranged["class_name"])
    expect(page.locator("#offline-status")).to_have_attribute("data-waiting", "0")
    expect(page.locator("#offline-saved-count")).to_have_text(str(LEARNERS))
    expect(page.locator("#offline-last-sync")).not_to_have_text("chưa bao giờ")
    # The app's order, as the server pages write it: dd/mm/yyyy hh:mm
    expect(page.locator("#offline-last-sync")).to_have_text(re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$"))
    for pid, status in list(wanted.items())[:3]:
        expect(page.locator(f"#s{pid}-{status}")).to_be_checked()
    page.reload()  # a second visit sends nothing again
    expect(page.locator("#offline-saved-count")).to_have_text(str(LEARNERS))
    context.close()

    marks = _marks(stack_app, session_id)
    assert {pid: status for pid, (status, _id) in marks.items()} == wanted
    assert len({client_id for _status, client_id in marks.values()}) == LEARNERS
    with stack_app.app_context():
        sent = db.session.scalar(
            select(func.count()).select_from(IdempotentRequest).where(IdempotentRequest.user_id == user_id)
        )
    assert sent >= 1
    assert errors == []


def _phone(browser, stack: dict, **options):
    options = {"locale": "vi-VN", **options}
    context = browser.new_context(viewport=PHONE, base_url=stack["base_url"], is_mobile=True, has_touch=True, **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context, context.new_page()


def _offline_sheet(context, page) -> None:
    _ready(page)
    context.set_offline(True)
    page.reload()
    expect(page.locator("#offline-root #roll .roll-row")).not_to_have_count(0)


def _back_online(context, page) -> None:
    context.set_offline(False)
    expect(page.locator("#offline-status")).to_have_attribute("data-waiting", "0")


@pytest.mark.parametrize("first", ["earlier", "later"])
def test_two_phones_marking_a_learner_differently_offline_the_later_mark_stands(stack_app, browser, stack, first):
    arranged = commit(stack_app, lambda: _arrange(f"Hai{first}", people=3))
    session_id, learner = arranged["session_id"], arranged["learners"][0]
    phones = {}
    for who in ("manager", "instructor"):
        email, name, _id = arranged["users"][who]
        context, page = _phone(browser, stack)
        _log_in(page, email, name)
        _open_attendance(page, arranged["class_name"])
        _offline_sheet(context, page)
        phones[who] = (context, page)

    # The manager marks the learner present; a little later the instructor, on another phone, marks them absent.
    _tap(phones["manager"][1], learner, "present")
    expect(phones["manager"][1].locator("#offline-status")).to_have_attribute("data-waiting", "1")
    _tap(phones["instructor"][1], learner, "absent")
    expect(phones["instructor"][1].locator("#offline-status")).to_have_attribute("data-waiting", "1")

    order = ["manager", "instructor"] if first == "earlier" else ["instructor", "manager"]
    for who in order:
        _back_online(*phones[who])

    # The server's rule decides: the later mark stands, whichever phone synced first.
    marks = _marks(stack_app, session_id)
    assert marks[learner][0] == "absent"
    manager_page = phones["manager"][1]
    conflict = manager_page.locator(f".roll-row[data-person='{learner}'] .offline-conflict")
    if first == "later":
        # The manager's phone synced after the later mark arrived: it says so, with both values, who and when.
        expect(conflict).to_contain_text("Một máy khác đã ghi điểm danh muộn hơn")
        expect(conflict).to_contain_text("Vắng")
        expect(conflict).to_contain_text(arranged["users"]["instructor"][1])
        expect(conflict).to_contain_text("Có mặt")
        # What to do about it; and the two marks, taken within the minute, with their seconds (not "later: 17:03 —
        # yours: 17:03").
        expect(conflict).to_contain_text("hãy chạm lại")
        times = re.findall(r"\d{2}:\d{2}(?::\d{2})?", conflict.inner_text())
        assert len(times) == 2, times
        assert times[0] != times[1] or all(t.count(":") == 2 for t in times), times
        expect(manager_page.locator(f"#s{learner}-absent")).to_be_checked()
        conflict.get_by_role("button", name="Đã rõ").click()
        expect(conflict).to_have_count(0)
    else:
        expect(conflict).to_have_count(0)
    expect(phones["instructor"][1].locator(".offline-conflict")).to_have_count(0)
    for context, _page in phones.values():
        context.close()


def test_a_shared_phone_keeps_each_users_marks_to_that_user(stack_app, browser, stack):
    arranged = commit(stack_app, lambda: _arrange("Chung", people=3))
    session_id, learners = arranged["session_id"], arranged["learners"]
    manager_email, manager_name, manager_id = arranged["users"]["manager"]
    instructor_email, instructor_name, instructor_id = arranged["users"]["instructor"]
    context, page = _phone(browser, stack)
    _log_in(page, manager_email, manager_name)
    _open_attendance(page, arranged["class_name"])
    _offline_sheet(context, page)
    _tap(page, learners[0], "present")
    _tap(page, learners[1], "late")
    expect(page.locator("#offline-status")).to_have_attribute("data-waiting", "2")

    # The signal returns but the server cannot be reached: the marks still wait when the manager logs out.
    context.route("**/api/v1/sessions/*/attendance", lambda route: route.abort())
    context.set_offline(False)
    # The offline page's brand stays on the phone (it opens with no signal); its menu's start page needs the signal.
    page.get_by_role("button", name="Trình đơn").click()
    page.locator("#nav").get_by_role("link", name="Trang đầu (cần có mạng)").click()
    page.get_by_text(f"Xin chào, {manager_name}").wait_for()
    # The page shows before its scripts have run: a logout tapped before offline/page.js has hooked the form goes
    # out unwarned (it did in CI, with the two runs sharing two cores). The script publishes LmsOfflinePage once
    # the logout forms are hooked.
    page.wait_for_function("() => window.LmsOfflinePage !== undefined")
    warnings: list[str] = []

    def answer(dialog, accept: bool) -> None:
        warnings.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    page.get_by_role("button", name="Trình đơn").click()
    page.get_by_role("button", name="Đăng xuất").click()
    # The warning comes once the page has counted the phone's queue (IndexedDB answers asynchronously): wait for it.
    for _ in range(300):
        if warnings:
            break
        page.wait_for_timeout(100)
    page.get_by_text(f"Xin chào, {manager_name}").wait_for()  # stayed: the warning was declined
    assert warnings, "logging out with marks waiting must warn"
    assert "Còn 2 điểm danh" in warnings[0]
    page.once("dialog", lambda dialog: answer(dialog, True))
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.get_by_label("Thư điện tử")).to_be_visible()
    page.wait_for_function("() => window.LmsOffline !== undefined")  # the form shows before the scripts have run
    assert page.evaluate(f"LmsOffline.cached({manager_id})") is None  # the roster is gone with the manager
    context.unroute("**/api/v1/sessions/*/attendance")

    # Another user on the same phone neither sees nor sends the manager's marks.
    _log_in(page, instructor_email, instructor_name)
    _open_attendance(page, arranged["class_name"])
    _ready(page)
    expect(page.locator("#offline-waiting-count")).to_have_text("0")
    expect(page.locator(".roll-row[data-state='waiting']")).to_have_count(0)
    expect(page.locator(f"#s{learners[0]}-present")).not_to_be_checked()
    assert _marks(stack_app, session_id) == {}
    # Nothing of theirs waits: no warning. A warning would be accepted here (a dismissed one keeps the page, and the
    # failure would read as a slow logout) and then fail the assertion below with its text.
    page.once("dialog", lambda dialog: answer(dialog, True))
    page.get_by_role("button", name="Trình đơn").click()
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.get_by_label("Thư điện tử")).to_be_visible()
    assert len(warnings) == 2, f"the instructor, with nothing waiting, was warned: {warnings[2:]}"

    # The manager logs in again: their marks, kept on the phone, go with their own session.
    _log_in(page, manager_email, manager_name)
    _open_attendance(page, arranged["class_name"])
    expect(page.locator("#offline-status")).to_have_attribute("data-waiting", "0")
    expect(page.locator("#offline-saved-count")).to_have_text("2")
    with stack_app.app_context():
        rows = list(db.session.scalars(select(Attendance).where(Attendance.session_id == session_id)))
    assert {(r.person_id, r.status, r.recorded_by_id) for r in rows} == {
        (learners[0], "present", manager_id),
        (learners[1], "late", manager_id),
    }
    assert instructor_id not in {r.recorded_by_id for r in rows}
    assert len(warnings) == 2  # the manager declined once, then accepted; the instructor was not warned
    context.close()


def test_a_phone_whose_store_never_answers_still_logs_out(stack_app, browser, stack):
    """The log-out waits for the phone's count of its waiting marks (IndexedDB): a store that never answers (a stuck
    database, a very busy phone) must not keep the user logged in — after a few seconds the log-out goes on."""
    arranged = commit(stack_app, lambda: _arrange("Ket", people=1))
    email, name, _user_id = arranged["users"]["manager"]
    context, page = _phone(browser, stack)
    _log_in(page, email, name)
    page.wait_for_function("() => window.LmsOfflinePage !== undefined")  # the log-out form is hooked
    page.evaluate("() => { window.LmsOffline.byUser = () => new Promise(() => {}); }")  # the count never comes
    page.get_by_role("button", name="Trình đơn").click()
    page.get_by_role("button", name="Đăng xuất").click()
    login = page.get_by_label("Thư điện tử")
    try:
        # The page's own wait is 5 s (page.js LOGOUT_WAIT); then the form goes.
        expect(login).to_be_visible(timeout=15_000)
    except AssertionError:
        # Twice in CI runs with the machine shared (never alone, never in 20 runs under a CPU hog) the page was still
        # there after 30 s, its menu open: the tap was lost, or its form never went. Which one is printed with the
        # failure; the test taps once more and asks the same of the second tap — a log-out that waits for the store
        # forever fails both.
        submitted = page.evaluate(
            "() => [...document.querySelectorAll(\"form[action$='/logout']\")].map(f => f.dataset.checked || '')"
        )
        print(f"log-out not done after 15 s; the forms' data-checked: {submitted}")
        if not page.get_by_role("button", name="Đăng xuất").is_visible():
            page.get_by_role("button", name="Trình đơn").click()
        page.get_by_role("button", name="Đăng xuất").click()
        expect(login).to_be_visible()
    context.close()


def test_the_signal_going_while_the_page_is_open_keeps_the_marks_on_the_phone(stack_app, browser, stack):
    arranged = commit(stack_app, lambda: _arrange("Mat", people=3))
    session_id, learners = arranged["session_id"], arranged["learners"]
    email, name, user_id = arranged["users"]["manager"]
    context, page = _phone(browser, stack)
    _log_in(page, email, name)
    _open_attendance(page, arranged["class_name"])
    _ready(page)

    # The page was opened with a signal; it goes while the instructor marks: "Save" keeps the marks on the phone.
    context.set_offline(True)
    expect(page.locator("#offline-connection")).to_contain_text("Không có sóng")
    page.get_by_role("button", name="Tất cả có mặt").click()
    page.locator(f"label[for='s{learners[2]}-absent']").click()
    page.get_by_role("button", name="Lưu").click()
    expect(page.locator("#offline-status")).to_have_attribute("data-waiting", "3")
    expect(page.locator(f".roll-row[data-person='{learners[2]}'] .offline-note")).to_contain_text("Đang chờ gửi")
    expect(page.locator("#save-result")).to_contain_text("Không có sóng: 3 lượt điểm danh")
    assert _marks(stack_app, session_id) == {}

    context.set_offline(False)
    expect(page.locator("#offline-status")).to_have_attribute("data-waiting", "0")
    # What "Save" said no longer stands: the words under the sheet say the marks went, not "No signal".
    expect(page.locator("#save-result")).to_contain_text("Đã có sóng trở lại")
    expect(page.locator("#save-result")).to_have_attribute("data-kind", "success")
    with stack_app.app_context():
        rows = list(db.session.scalars(select(Attendance).where(Attendance.session_id == session_id)))
    assert {(r.person_id, r.status, r.recorded_by_id) for r in rows} == {
        (learners[0], "present", user_id),
        (learners[1], "present", user_id),
        (learners[2], "absent", user_id),
    }
    assert all(r.device.startswith("phone-") for r in rows)
    context.close()


def test_a_mark_the_server_refuses_is_explained_and_the_others_are_saved(stack_app, browser, stack):
    arranged = commit(stack_app, lambda: _arrange("Rut", people=3))
    session_id, learners = arranged["session_id"], arranged["learners"]
    email, name, _user_id = arranged["users"]["instructor"]
    # A phone set to English (its Accept-Language), as many here are: the pages are Vietnamese, and so is the reason.
    context, page = _phone(browser, stack, locale="en-US")
    _log_in(page, email, name)
    _open_attendance(page, arranged["class_name"])
    _offline_sheet(context, page)
    for pid in learners:
        _tap(page, pid, "present")
    expect(page.locator("#offline-status")).to_have_attribute("data-waiting", "3")

    # Meanwhile the centre withdraws a learner: the batch would be refused whole; the two others still go.
    def withdraw() -> None:
        from courses.models import ClassSession

        courses.withdraw(db.session.get(ClassSession, session_id).course_class, learners[1])

    commit(stack_app, withdraw)
    _back_online(context, page)
    assert set(_marks(stack_app, session_id)) == {learners[0], learners[2]}
    refused = page.locator(f".roll-row[data-person='{learners[1]}']")
    expect(refused).to_have_attribute("data-state", "refused")
    expect(refused.locator(".offline-note")).to_contain_text("Máy chủ không nhận")
    expect(refused.locator(".offline-note")).to_contain_text("không có tên trong lớp này")
    expect(refused.locator(".offline-note")).not_to_contain_text("enrolled")
    refused.get_by_role("button", name="Bỏ").click()
    expect(refused).not_to_have_attribute("data-state", "refused")
    context.close()


def test_with_a_signal_every_tap_is_kept_on_the_phone_first_and_survives_closing_the_browser(
    stack_app, browser, stack, tmp_path
):
    """With a signal too, a tap goes to the phone's queue before anything is sent: the signal that drops in the
    middle of a class (here: the server cannot be reached) and a browser closed at once lose nothing."""
    arranged = commit(stack_app, lambda: _arrange("Song", people=5))
    session_id, learners = arranged["session_id"], arranged["learners"]
    email, name, user_id = arranged["users"]["instructor"]
    wanted = dict(zip(learners, ["present", "present", "late", "absent", "present"], strict=True))
    profile = tmp_path / "phone"

    context = _launch(browser, stack, profile)
    page = _page(context)
    _log_in(page, email, name)
    _open_attendance(page, arranged["class_name"])
    _ready(page)
    context.route("**/api/v1/sessions/*/attendance", lambda route: route.abort())
    for pid, status in wanted.items():
        _tap(page, pid, status)
    expect(page.locator("#offline-connection")).not_to_contain_text("Không có sóng")  # online all along
    expect(page.locator("#offline-status")).to_have_attribute("data-waiting", "5")
    expect(page.locator(".roll-row[data-state='waiting']")).to_have_count(5)
    expect(page.locator(f".roll-row[data-person='{learners[3]}'] .offline-note")).to_contain_text("Đang chờ gửi")
    page.get_by_role("button", name="Lưu").click()
    expect(page.locator("#save-result")).to_contain_text("Chưa kết nối được máy chủ")
    assert _marks(stack_app, session_id) == {}
    context.close()  # no warning, no form post: the marks are on the phone

    context = _launch(browser, stack, profile)
    page = _page(context)
    _log_in(page, email, name)
    _open_attendance(page, arranged["class_name"])
    expect(page.locator("#offline-status")).to_have_attribute("data-waiting", "0")
    expect(page.locator("#offline-saved-count")).to_have_text("5")
    for pid, status in wanted.items():
        expect(page.locator(f"#s{pid}-{status}")).to_be_checked()
    context.close()

    marks = _marks(stack_app, session_id)
    assert {pid: status for pid, (status, _id) in marks.items()} == wanted
    assert len({client_id for _status, client_id in marks.values()}) == 5
    with stack_app.app_context():
        rows = list(db.session.scalars(select(Attendance).where(Attendance.session_id == session_id)))
    assert {r.recorded_by_id for r in rows} == {user_id}
    assert all(r.device.startswith("phone-") for r in rows)


def test_background_sync_sends_the_marks_with_no_page_of_the_app_open(stack_app, browser, stack):
    """Background Sync, as far as headless Chromium goes: the offline taps register the sync tag; the attendance
    page is closed; when the signal returns, Chromium wakes the service worker, which sends the marks for the user
    logged in on the phone — no page of the app is open to do it."""
    arranged = commit(stack_app, lambda: _arrange("Nen", people=3))
    session_id, learners = arranged["session_id"], arranged["learners"]
    email, name, user_id = arranged["users"]["instructor"]
    context, page = _phone(browser, stack)
    _log_in(page, email, name)
    _open_attendance(page, arranged["class_name"])
    _offline_sheet(context, page)
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => 'sync' in r)"), "Chromium has Background Sync"
    for pid in learners:
        _tap(page, pid, "late")
    expect(page.locator("#offline-status")).to_have_attribute("data-waiting", "3")
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => r.sync.getTags())") == ["lms-attendance"]
    assert _marks(stack_app, session_id) == {}

    blank = context.new_page()  # keeps the browser open: nothing of the app in it
    page.close()
    context.set_offline(False)
    deadline = 30
    while len(_marks(stack_app, session_id)) < 3 and deadline:
        blank.wait_for_timeout(500)
        deadline -= 1
    with stack_app.app_context():
        rows = list(db.session.scalars(select(Attendance).where(Attendance.session_id == session_id)))
    assert {(r.person_id, r.status, r.recorded_by_id) for r in rows} == {(pid, "late", user_id) for pid in learners}
    assert [p.url for p in context.pages] == ["about:blank"]

    # The page opened afterwards finds nothing waiting: the worker's sync emptied the queue and refreshed the cache.
    page = context.new_page()
    page.goto("/")
    _open_attendance(page, arranged["class_name"])
    expect(page.locator("#offline-status")).to_have_attribute("data-waiting", "0")
    expect(page.locator("#offline-saved-count")).to_have_text("3")
    expect(page.locator("#offline-last-sync")).not_to_have_text("chưa bao giờ")
    context.close()


STRICT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def test_the_attendance_page_works_under_a_policy_without_unsafe_inline(stack_app, browser, stack):
    """The policy the application is moving to (no 'unsafe-inline'), without a nonce: the attendance page has no
    inline script, style or handler, so the tally, "everyone present", the phone's queue and "Save" all work."""
    arranged = commit(stack_app, lambda: _arrange("Csp", people=3))
    session_id, learners = arranged["session_id"], arranged["learners"]
    email, name, user_id = arranged["users"]["manager"]
    context, page = _phone(browser, stack, service_workers="block")  # every response passes through the route

    def strict(route) -> None:
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_POLICY})

    context.route(re.compile(r".*/courses/sessions/\d+/attendance$"), strict)
    context.add_init_script(
        "window.__blocked = [];"
        "document.addEventListener('securitypolicyviolation',"
        " (e) => window.__blocked.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.lineNumber));"
    )
    _log_in(page, email, name)
    _open_attendance(page, arranged["class_name"])
    page.get_by_role("button", name="Tất cả có mặt").click()
    page.locator(f"label[for='s{learners[1]}-absent']").click()
    expect(page.locator("#tally")).to_contain_text("Vắng 1")
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_text("Đã lưu 3 lượt điểm danh.")).to_be_visible()
    assert page.evaluate("window.__blocked") == []
    # The policy is in force: a script written into the page is refused.
    ran = page.evaluate(
        "(() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1';"
        " document.body.appendChild(s); return window.__inline === 1; })()"
    )
    assert ran is False
    page.wait_for_function("window.__blocked.length === 1")
    with stack_app.app_context():
        rows = list(db.session.scalars(select(Attendance).where(Attendance.session_id == session_id)))
    # Through the bulk endpoint from the phone's queue (a client mark id, the phone's device), not the form's post.
    assert {(r.person_id, r.status, r.recorded_by_id) for r in rows} == {
        (learners[0], "present", user_id),
        (learners[1], "absent", user_id),
        (learners[2], "present", user_id),
    }
    assert all(r.client_mark_id and r.device.startswith("phone-") for r in rows)
    context.close()


def _weigh(responses: list) -> list[tuple[str, int, int]]:
    """Each response of ours: (path, bytes as the server sends them, bytes gzipped as a proxy would send them)."""
    import gzip

    sizes = []
    for response in responses:
        if response.status != 200:
            continue
        try:
            body = response.body()
        except Error:  # a response of the page navigated away from (the class page)
            continue
        path = "/" + response.url.split("://", 1)[1].split("/", 1)[1].split("?")[0]
        sizes.append((path, len(body), len(gzip.compress(body))))
    return sizes


def _total(sizes: list[tuple[str, int, int]], *parts: str) -> tuple[int, int]:
    chosen = [s for s in sizes if not parts or any(p in s[0] for p in parts)]
    return sum(s[1] for s in chosen), sum(s[2] for s in chosen)


def test_the_page_and_its_data_for_forty_learners_weigh_a_few_tens_of_kilobytes(stack_app, browser, stack):
    """What a 40-learner session costs over a rural connection, measured (docs/offline-attendance.md): the first
    visit with everything, then a visit with the static files already on the phone; and the sheet fits a 390 px
    screen with no sideways scrolling."""
    # A commune of its own: the phone keeps all the sessions the user may mark, here this class's only.
    arranged = commit(stack_app, lambda: _arrange("Can", commune_code="23302"))
    email, name, _user_id = arranged["users"]["instructor"]
    context, page = _phone(browser, stack)
    _log_in(page, email, name)
    page.get_by_role("button", name="Trình đơn").click()
    page.locator("#nav").get_by_role("link", name="Lớp học", exact=True).click()
    page.get_by_role("link", name=re.compile(arranged["class_name"])).first.click()
    seen: list = []
    page.on("response", lambda response: seen.append(response))
    page.locator(".attendance-link").first.click()
    _ready(page)
    page.wait_for_load_state("networkidle")
    cold = _weigh(seen)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    seen.clear()
    page.reload()
    _ready(page)
    page.wait_for_load_state("networkidle")
    warm = [s for s in _weigh(seen) if "/static/" not in s[0]]  # the static files are on the phone (cached)
    # Every file the page loads, as a phone that never opened the application would fetch them.
    files = page.evaluate(
        "[...document.querySelectorAll('script[src], link[href]')].map((e) => e.src || e.href)"
        ".filter((u) => u.startsWith(location.origin))"
    )
    static = []
    for url in sorted(set(files)):
        body = page.request.get(url).body()
        static.append((url.split(stack["base_url"], 1)[1], len(body), len(__import__("gzip").compress(body))))
    context.close()

    sheet = _total([s for s in cold if re.search(r"/sessions/\d+/attendance$", s[0])])
    data = _total(cold, "offline/data.json")
    visit, everything = _total(warm), _total([*[s for s in cold if "/static/" not in s[0]], *static])
    print(
        f"\n40 learners (raw B, gzipped B): HTML {sheet}, data.json {data}; a visit with the static files on the phone"
        f" {visit}; everything, on a phone that never opened the application {everything}: {sorted(static)}"
    )
    # A few tens of kilobytes compressed (the proxy gzips; ADR 13): the sheet and its data, and everything at once.
    assert visit[1] < 15_000
    assert everything[1] < 100_000
    assert data[0] < 10_000
