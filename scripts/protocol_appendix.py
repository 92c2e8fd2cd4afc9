"""Write (or check) docs/exchange-content-schemas.md, Appendix A of the exchange protocol, from the code.

python scripts/protocol_appendix.py          # rewrite the file
python scripts/protocol_appendix.py --check  # exit 1 if the file differs from what the code says
"""

from __future__ import annotations

import sys
from pathlib import Path

from sarhad.exchange.content_schemas import render

TARGET = Path(__file__).resolve().parents[1] / "docs" / "exchange-content-schemas.md"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is out of date: run python scripts/protocol_appendix.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
