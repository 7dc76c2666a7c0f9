from __future__ import annotations

from flask import Flask
from flask_babel import get_locale

from lms.auth.permissions import Permission, has_permission_anywhere
from lms.core import formatting


def format_number(value: int | float | None, places: int = 2) -> str:
    return "" if value is None else formatting.number(value, places)


def init_templating(app: Flask) -> None:
    # Every template formats through these (lms.core.formatting): "1.234", "24,6 %", "31/12/2026" in Vietnamese.
    app.jinja_env.filters.update(
        date=formatting.day,
        born=lambda person: formatting.birth(person.birth_date, person.birth_year_only),
        datetime=formatting.moment,
        moment_date=formatting.moment_day,
        filesize=formatting.file_size,
        number=format_number,
        percent=formatting.percent,
        share=formatting.share,
    )

    @app.context_processor
    def _helpers() -> dict:
        from flask_login import current_user

        from lms.auth.labels import ROLE_NAMES
        from lms.registry import labels

        return {
            "role_names": ROLE_NAMES,
            "level_names": labels.LEVEL_NAMES,
            "area_names": labels.AREA_NAMES,
            "association_role_names": labels.ASSOCIATION_ROLE_NAMES,
            "board_role_names": labels.BOARD_ROLE_NAMES,
            "status_names": labels.STATUS_NAMES,
            "occupation_names": labels.OCCUPATION_NAMES,
            "sex_names": labels.SEX_NAMES,
            "organisation_kind_names": labels.ORGANISATION_KIND_NAMES,
            "managing_level_names": labels.MANAGING_LEVEL_NAMES,
            "Permission": Permission,
            "has_permission": lambda p: has_permission_anywhere(current_user, p),
            "current_locale": str(get_locale()),
        }
