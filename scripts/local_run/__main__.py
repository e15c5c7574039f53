"""``python -m scripts.local_run`` (what ``make local`` runs)."""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
for _path in (_ROOT, _ROOT / "src" / "secret_layer"):  # as the Lambda layer puts it on the path
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from scripts.local_run.cli import main  # noqa: E402 - after the path set-up above

raise SystemExit(main())
