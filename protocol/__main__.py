"""``python -m runwire.protocol [PATH]``: write the protocol's JSON Schema (default: stdout)."""

from __future__ import annotations

import sys
from pathlib import Path

from .codec import event_json_schema


def main(argv: list[str]) -> int:
    text = event_json_schema()
    if not argv:
        sys.stdout.write(text)
        return 0
    Path(argv[0]).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
