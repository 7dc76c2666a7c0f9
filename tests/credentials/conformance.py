"""Our own conformance schemas for what we issue (``tests/data/conformance/``): JSON Schemas (Draft 2020-12) written
from the normative text of Open Badges 3.0, CLR 2.0, the W3C VC Data Model 2.0 and Bitstring Status List — not the
files 1EdTech publishes, which come from another repository and stay out of our commits. Each file opens with a
``$comment`` naming the sections its rules come from. ``ob3-terms.json`` beside them is the vocabulary we check the
property names against (``terms()``): per class, the properties the OB 3.0 / VC 2.0 data model defines.

``validate(kind, document)`` raises ``jsonschema.ValidationError`` with the failing path; ``errors(kind, document)``
lists the messages (empty when the document conforms)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

DIRECTORY = Path(__file__).resolve().parent.parent / "data" / "conformance"
FILES = {
    "achievement_credential": "ob3-achievement-credential.schema.json",
    "profile": "ob3-profile.schema.json",
    "clr_credential": "clr2-clr-credential.schema.json",
}


def schemas() -> dict[str, dict[str, Any]]:
    """Every schema file, by file name."""
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(DIRECTORY.glob("*.schema.json"))}


@cache
def terms() -> dict[str, Any]:
    """``ob3-terms.json``: the property names each Open Badges class defines, the class of each object-valued
    property, the type names, and the JWT claims a VC-JWT payload adds."""
    document: dict[str, Any] = json.loads((DIRECTORY / "ob3-terms.json").read_text(encoding="utf-8"))
    return document


@cache
def _validators() -> dict[str, Draft202012Validator]:
    documents = schemas()
    registry: Registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in documents.values()
    )
    return {kind: Draft202012Validator(documents[name], registry=registry) for kind, name in FILES.items()}


def validate(kind: str, document: Any) -> None:
    _validators()[kind].validate(document)


def errors(kind: str, document: Any) -> list[str]:
    return [
        f"{'/'.join(str(part) for part in error.absolute_path) or '(root)'}: {error.message}"
        for error in _validators()[kind].iter_errors(document)
    ]
