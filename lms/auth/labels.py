from flask_babel import lazy_gettext as _l

ROLE_NAMES = {
    "administrator": _l("Administrator"),
    "province_leader": _l("Province leader"),
    "commune_leader": _l("Commune leader"),
    "centre_manager": _l("Centre manager"),
    "instructor": _l("Instructor"),
    "association_officer": _l("Association officer"),
}
