from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import get_locale

from lms.auth.permissions import Permission, has_permission_anywhere

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def format_date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.replace(tzinfo=ZoneInfo("UTC")).astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")


def format_number(value: int | float | None) -> str:
    if value is None:
        return ""
    text = f"{value:,}"
    return text.replace(",", ".") if str(get_locale()) == "vi" else text


def init_templating(app: Flask) -> None:
    app.jinja_env.filters.update(date=format_date, datetime=format_datetime, number=format_number)

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
            "Permission": Permission,
            "has_permission": lambda p: has_permission_anywhere(current_user, p),
            "current_locale": str(get_locale()),
        }
