"""Display names of the registry's coded values, translated."""

from flask_babel import lazy_gettext as _l

LEVEL_NAMES = {
    "country": _l("Country"),
    "province": _l("Province"),
    "district": _l("District"),
    "commune": _l("Commune"),
    "village": _l("Village"),
}
AREA_NAMES = {
    "standard": _l("Standard area"),
    "mountainous": _l("Mountainous area"),
    "difficult": _l("Difficult area"),
    "especially_difficult": _l("Especially difficult area"),
    "border": _l("Border area"),
}
ASSOCIATION_ROLE_NAMES = {
    "chair": _l("Chair"),
    "vice_chair": _l("Vice-chair"),
    "officer": _l("Officer"),
    "member": _l("Member"),
}
# "Member" alone is the association's word ("Hội viên", ASSOCIATION_ROLE_NAMES): a board's member is not one.
BOARD_ROLE_NAMES = {
    "director": _l("Director"),
    "deputy_director": _l("Deputy director"),
    "member": _l("Member of the board"),
}
STATUS_NAMES = {
    "pending": _l("Waiting for a worker"),
    "running": _l("Running"),
    "previewed": _l("Checked: waiting for your confirmation"),
    "succeeded": _l("Done"),
    "failed": _l("Refused"),
}
SEX_NAMES = {"M": _l("Male"), "F": _l("Female")}
OCCUPATION_NAMES = {
    "worker": _l("Worker"),
    "official": _l("Official or public employee"),
    "pupil": _l("Pupil or student"),
    "other": _l("Other"),
}
# The person form's choices: "Worker" names the farmers in it, so that nobody files them under "Other" (which drops
# them from Plan 1514's "người lao động", ADR 12).
OCCUPATION_CHOICES = {**OCCUPATION_NAMES, "worker": _l("Worker (farmer, labourer…)")}
ORGANISATION_KIND_NAMES = {
    "agency": _l("State agency"),
    "commune_committee": _l("Commune People's Committee"),
    "public_service": _l("Public service unit"),
    "school": _l("School"),
    "enterprise": _l("Enterprise"),
    "association": _l("Association or union"),
    "other": _l("Other"),
}
MANAGING_LEVEL_NAMES = {
    "commune": _l("Commune"),
    "district": _l("District (before 2025)"),
    "province": _l("Province"),
    "central": _l("Central"),
}
IMPORT_KIND_NAMES = {
    "villages": _l("Villages"),
    "households": _l("Households and their members"),
    "organisations": _l("Organisations and their members"),
    "officers": _l("Association officers"),
}
# What a registry import writes, and the fields its preview names when a record changes.
IMPORT_ENTITY_NAMES = {
    "villages": _l("Villages"),
    "households": _l("Households"),
    "persons": _l("Persons"),
    "organisations": _l("Organisations"),
    "members": _l("Organisation members"),
    "officers": _l("Association officers"),
}
IMPORT_FIELD_NAMES = {
    "kind": _l("Kind"),
    "name": _l("Name"),
    "full_name": _l("Full name"),
    "address": _l("Address"),
    "birth_date": _l("Birth date"),
    "sex": _l("Sex"),
    "relation_to_head": _l("Relation to the head of household"),
    "ethnicity": _l("Ethnicity"),
    "occupation_group": _l("Occupation group"),
    "id_number": _l("Personal ID number"),
    "managing_level": _l("Managing level"),
    "position": _l("Position"),
    "ended_on": _l("End date"),
}
