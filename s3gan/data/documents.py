"""JSON documents in storage: written whole, read back only when they are what they claim.

Manifests, stage completion records and run summaries are small JSON files whose presence is
itself a fact (the dataset is converted, the stage finished), so each is written with
``Location.write_whole`` and never seen half-written. A versioned document carries a ``format``
field naming its schema; a reader refuses any other, so a foreign or older file is never taken
for one of ours.
"""

from __future__ import annotations

import json
from typing import Any

from s3gan.data.storage import Location


def write_json(location: Location, relative: str, document: Any) -> None:
    """``document`` as indented JSON with sorted keys, whole or not at all."""
    location.write_whole(relative, json.dumps(document, indent=1, sort_keys=True).encode())


def parse_versioned(data: bytes, where: str, expected_format: str, what: str,
                    error: type[ValueError]) -> dict[str, Any]:
    """The JSON object in ``data`` if its ``format`` field is ``expected_format``; else
    ``error`` naming ``where`` (the file) and ``what`` it should have been."""
    try:
        document = json.loads(data)
    except ValueError as e:  # JSONDecodeError, or bytes that are not UTF-8
        raise error(f"{where}: not a {what} ({e!r})") from e
    found = document.get("format") if isinstance(document, dict) else type(document).__name__
    if found != expected_format:
        raise error(f"{where}: format {found!r}, expected {expected_format!r}")
    return document
