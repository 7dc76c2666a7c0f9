from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import click
from flask import Flask, current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import aliased

from courses import it_skills, services
from courses.models import Course, CourseClass
from lms.extensions import db
from lms.registry.models import AdminUnit, AssociationMembership, Clc, UnitLevel
from lms.registry.services import find_unit


def register(app: Flask) -> None:
    @app.cli.command("load-holidays")
    def load_holidays_command() -> None:
        """Load the national public holidays, Tết included, that recurring schedules skip. Idempotent."""
        added = services.load_national_holidays()
        db.session.commit()
        click.echo(f"{added} national holidays added")

    @app.cli.command("add-holiday")
    @click.option(
        "--unit",
        "unit_code",
        default="VN",
        show_default=True,
        help="Code of the current unit whose subtree the day off applies to.",
    )
    @click.option("--day", type=click.DateTime(formats=["%Y-%m-%d", "%d/%m/%Y"]), required=True)
    @click.option("--name", required=True)
    def add_holiday_command(unit_code: str, day: date, name: str) -> None:
        """Add a day without sessions for a unit (a province's own holiday, a commune's festival)."""
        unit = find_unit(unit_code)
        if unit is None:
            raise click.ClickException(f"no current unit with code {unit_code!r}")
        try:
            services.add_holiday(unit, day.date() if hasattr(day, "date") else day, name)
        except services.CourseError as exc:
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
        click.echo(f"{name} on {day:%d/%m/%Y} added for {unit.full_name}")

    @app.cli.command("seed-it-demo")
    def seed_it_demo_command() -> None:
        """Demo IT-skills training in the demo communes (after setup-demo): a basic IT class held last month for the
        commune association's officers, its chair organising, so the leaders' figures are not empty. Idempotent."""
        if current_app.config.get("ENV_NAME") == "production":
            raise click.ClickException("demo data is refused in production")
        made = seed_it_demo()
        db.session.commit()
        click.echo(f"IT-skills demo classes: {made} created")

    @app.cli.group("it-skills")
    def it_skills_group() -> None:
        """The IT-skills programme: national IT certificates."""

    @it_skills_group.command("duplicates")
    def duplicates_command() -> None:
        """List the live IT certificates recorded more than once, typed differently (case, spacing, diacritics):
        records made before one certificate could be live once (migration 0047). In Vietnamese."""
        click.echo(duplicates_report())


def duplicates_report() -> str:
    """:func:`courses.it_skills.typed_duplicates` over the whole country, in Vietnamese (administrators read it)."""
    from lms.core.formatting import moment_day, speaking

    groups = it_skills.typed_duplicates(select(it_skills.ItCertificate))
    with speaking("vi"):
        if not groups and not groups.cut:
            return _("No certificate is recorded twice.")
        lines = [
            ngettext(
                "%(num)s certificate recorded more than once, typed differently:",
                "%(num)s certificates recorded more than once, typed differently:",
                len(groups),
            )
        ]
        for group in groups:
            first = group[0]
            lines.append(
                _(
                    "Certificate %(number)s of %(issuer)s: %(count)s records",
                    number=first.number,
                    issuer=first.issuer,
                    count=len(group),
                )
            )
            for c in group:
                state = _("verified") if c.status == "verified" else _("waiting for verification")
                lines.append(
                    "  - "
                    + _(
                        "record %(id)s: %(number)s · %(issuer)s — %(who)s (%(state)s, recorded %(day)s)",
                        id=c.id,
                        number=c.number,
                        issuer=c.issuer,
                        who=c.person.full_name,
                        state=state,
                        day=moment_day(c.recorded_at),
                    )
                )
        lines.append(_("Keep the right record of each certificate and reject the others (IT certificates page)."))
        if groups.cut:
            lines.append(
                _(
                    "Only the %(count)s oldest records that may be typed twice were read: reject the wrong ones listed "
                    "here, then run this command again for the rest.",
                    count=groups.read,
                )
            )
    return "\n".join(lines)


def seed_it_demo(as_of: datetime | None = None) -> int:
    """Per demo commune with a CLC and association officers, unless done already: a basic IT class held last
    month for the officers (about two in three complete it), and a policy-study session the first two of them
    organised for the village branches' members. Returns the communes seeded."""
    from lms.registry.demo import DEMO_COMMUNES

    now = as_of or services.local_now()
    last_month_end = now.date().replace(day=1) - timedelta(days=1)
    first_day = last_month_end.replace(day=1)
    roles = it_skills.framework().definitions["officer_roles"]
    basic = sorted(it_skills.framework().standards["basic"].requires_all)
    made = 0
    for code in DEMO_COMMUNES:
        commune = find_unit(code, UnitLevel.COMMUNE)
        clc = (
            db.session.scalar(select(Clc).where(Clc.commune_id == commune.id).order_by(Clc.id).limit(1))
            if commune is not None
            else None
        )
        if (
            commune is None
            or clc is None
            or db.session.scalar(select(Course.id).where(Course.code == f"DEMO-IT-{code}"))
        ):
            continue
        officers = list(
            dict.fromkeys(
                db.session.scalars(
                    select(AssociationMembership.person_id)
                    .where(
                        AssociationMembership.unit_id == commune.id,
                        AssociationMembership.role.in_(roles),
                        AssociationMembership.ended_on.is_(None),
                    )
                    .order_by(AssociationMembership.id)
                )
            )
        )
        if len(officers) < 2:
            continue
        branch = aliased(AdminUnit)
        members = list(
            dict.fromkeys(
                db.session.scalars(
                    select(AssociationMembership.person_id)
                    .join(branch, branch.id == AssociationMembership.unit_id)
                    .where(
                        branch.parent_id == commune.id,
                        AssociationMembership.role == "member",
                        AssociationMembership.ended_on.is_(None),
                    )
                    .order_by(AssociationMembership.id)
                    .limit(30)
                )
            )
        )
        it_class = _held_class(
            services.create_course(
                unit=commune,
                code=f"DEMO-IT-{code}",
                category="it_skills",
                name="Tin học cơ bản cho cán bộ Hội Khuyến học",
                planned_hours=Decimal(24),
                module_codes=basic,
            ),
            clc,
            "Lớp tin học cán bộ Hội (dữ liệu mẫu)",
            "association_officers",
            first_day,
            last_month_end,
            days=[first_day + timedelta(days=6), first_day + timedelta(days=13)],
            learners=officers,
            completing=officers[: max(2, (2 * len(officers)) // 3)],
        )
        services.recompute_class(it_class.id, as_of=now)
        if members:
            policy = _held_class(
                services.create_course(
                    unit=commune,
                    code=f"DEMO-NQ-{code}",
                    category="policy_study",
                    name="Học tập chủ trương, chính sách về xây dựng xã hội học tập",
                    planned_hours=Decimal(2),
                ),
                clc,
                "Hội nghị học tập nghị quyết (dữ liệu mẫu)",
                "association_members",
                first_day,
                last_month_end,
                days=[first_day + timedelta(days=20)],
                learners=members,
                completing=[p for i, p in enumerate(members) if i % 4],
                instructors=[(officers[0], "organiser"), (officers[1], "assistant")],
            )
            services.recompute_class(policy.id, as_of=now)
        made += 1
    return made


def _held_class(
    course: Course,
    clc: Clc,
    name: str,
    target_group: str,
    first: date,
    last: date,
    *,
    days: list[date],
    learners: list[int],
    completing: list[int],
    instructors: list[tuple[int, str]] | None = None,
) -> CourseClass:
    """A class with morning sessions on ``days``: every learner came to the first, ``completing`` to all."""
    course_class = services.create_class(
        course=course,
        clc=clc,
        name=name,
        capacity=max(30, len(learners)),
        starts_on=first,
        ends_on=last,
        target_group=target_group,
    )
    if instructors:
        services.set_instructors(course_class, instructors)
    # Off a holiday (Tết falls in the demo's month some years): the next working day, as a centre would.
    commune = db.session.get(AdminUnit, course_class.commune_id)
    assert commune is not None
    taken = set(services.holidays_for(commune, first, last))
    moved = []
    for day in days:
        while day in taken:
            day += timedelta(days=1)
        taken.add(day)
        moved.append(day)
    days = moved
    sessions = services.schedule(
        course_class, [(datetime.combine(d, time(8)), datetime.combine(d, time(11))) for d in days]
    )
    services.enrol(course_class, learners)
    for index, session in enumerate(sessions):
        services.record_attendance(
            session,
            [
                services.Mark(p, "present", datetime.combine(days[index], time(2)))
                for p in (learners if index == 0 and len(sessions) > 1 else completing)
            ],
            user_id=None,
        )
    return course_class
