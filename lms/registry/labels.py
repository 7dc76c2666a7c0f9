"""Display names of the registry's coded values, translated."""

from flask_babel import lazy_gettext as _l

from lms.registry.forms import OCCUPATION_CHOICES, ORGANISATION_KIND_CHOICES

LEVEL_NAMES = {
    "country": _l("Country"), "province": _l("Province"), "district": _l("District"),
    "commune": _l("Commune"), "village": _l("Village"),
}
AREA_NAMES = {
    "standard": _l("Standard area"), "mountainous": _l("Mountainous area"),
    "especially_difficult": _l("Especially difficult area"), "border": _l("Border area"),
}
ASSOCIATION_ROLE_NAMES = {
    "chair": _l("Chair"), "vice_chair": _l("Vice-chair"), "officer": _l("Officer"), "member": _l("Member"),
}
BOARD_ROLE_NAMES = {"director": _l("Director"), "deputy_director": _l("Deputy director"), "member": _l("Member")}
STATUS_NAMES = {"pending": _l("Waiting for a worker"), "running": _l("Running"), "succeeded": _l("Done"),
                "failed": _l("Refused")}
OCCUPATION_NAMES = dict(OCCUPATION_CHOICES)
ORGANISATION_KIND_NAMES = dict(ORGANISATION_KIND_CHOICES)
