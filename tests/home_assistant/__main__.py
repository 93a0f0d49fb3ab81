"""``python -m tests.home_assistant``: make the pinned Home Assistant's virtualenv now, or say why not."""

from __future__ import annotations

import sys

from tests.home_assistant import HOME_ASSISTANT_VERSION, VENV, InstallFailed, install


def main() -> int:
    try:
        reason = install()
    except InstallFailed as err:
        print(err, file=sys.stderr)
        return 1
    if reason is not None:
        print(f"SKIPPING the Home Assistant discovery check: {reason}", file=sys.stderr)
    else:
        print(f"Home Assistant {HOME_ASSISTANT_VERSION} ready in {VENV}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
