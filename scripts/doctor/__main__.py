"""``python -m scripts.doctor --env prod`` (what ``make doctor ENV=prod`` runs)."""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
for _path in (_ROOT, _ROOT / "src" / "secret_layer"):  # secret_service validates formats
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from scripts.doctor.cli import main  # noqa: E402 - after the path set-up above

raise SystemExit(main())
