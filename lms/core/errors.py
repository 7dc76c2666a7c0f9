"""The HTML error pages: in the reader's language (Vietnamese by default), in the site's layout, with a way back.

Werkzeug's descriptions are English and written for developers; a page shows its own sentence for each status,
unless the view raised the error with a sentence of its own (``abort(400, description=_("…"))``), which is kept.
"""

from __future__ import annotations

from flask import render_template, request, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError

from lms.extensions import db

TITLES = {
    400: _l("The request could not be understood"),
    401: _l("Please log in"),
    403: _l("You do not have access to this page"),
    404: _l("Page not found"),
    405: _l("This action is not possible here"),
    409: _l("The data changed in the meantime"),
    413: _l("The file is too large"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
}
MESSAGES = {
    400: _l("Some of what was sent is missing or not valid. Go back, check the form and try again."),
    401: _l("Log in first, then open the page again."),
    403: _l(
        "Your role does not cover this page or this place. If you need it, ask the administrator of your unit "
        "to give you the role."
    ),
    404: _l("The page does not exist, or what it shows is outside the places you are responsible for."),
    405: _l("The page was opened in a way it does not accept. Go back and use the page's buttons."),
    409: _l("Someone else changed the same data. Open the page again to see the latest version."),
    413: _l("The file is larger than the site accepts. Send a smaller file or split it."),
    429: _l("Wait a minute before trying again."),
    500: _l("The error has been recorded. Try again in a moment; if it happens again, tell your administrator."),
}
GENERIC_TITLE = _l("The page cannot be shown")
GENERIC_MESSAGE = _l("Go back and try again.")


def _message(exc: HTTPException, code: int) -> str:
    own = exc.description if exc.description != type(exc).description else None
    return str(own or MESSAGES.get(code, GENERIC_MESSAGE))


def error_page(exc: HTTPException) -> tuple[str, int]:
    code = exc.code or 500
    if code >= 500:
        db.session.rollback()  # the failed request's transaction must not break the page's own queries
    title, message = str(TITLES.get(code, GENERIC_TITLE)), _message(exc, code)
    back = request.referrer if request.referrer and request.referrer.startswith(request.host_url) else None
    try:
        page = render_template("core/error.html", code=code, title=title, message=message, back=back)
    except Exception:  # the layout itself may be what fails (the database behind the menu)
        if not isinstance(exc, InternalServerError):
            raise
        page = (
            f'<!doctype html><html lang="vi"><meta charset="utf-8"><title>{code}</title>'
            f"<h1>{escape(title)}</h1><p>{escape(message)}</p>"
            f'<p><a href="{url_for("core.home")}">{escape(str(_l("Back to the start page")))}</a></p></html>'
        )
    return page, code
