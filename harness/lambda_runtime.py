"""Run a function's handler in-process, as the Lambda runtime would.

Both functions have a handler module called ``app`` (``app.lambda_handler``), so they
cannot both be imported as ``app``. ``load_handler("rotation")`` loads
``src/rotation/app.py`` under the unique name ``rotation_app``, with the function's
folder on ``sys.path`` for its own modules, exactly as Lambda puts the code root there.
Module names other than ``app`` are unique across ``src/*/`` so they never collide.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["FUNCTIONS_ROOT", "FakeLambdaContext", "load_handler"]

FUNCTIONS_ROOT = Path(__file__).resolve().parents[1] / "src"


def load_handler(function: str) -> ModuleType:
    """Import ``src/<function>/app.py`` as ``<function>_app`` (cached after the first).

    An unknown function raises :class:`LookupError` naming the ones there are; a handler
    that fails while it is imported is not cached (nor its folder left on ``sys.path``),
    so the next call raises the same error instead of returning a half-made module.
    """
    name = f"{function}_app"
    if name in sys.modules:
        return sys.modules[name]
    folder = FUNCTIONS_ROOT / function
    handler = folder / "app.py"
    if not handler.is_file():
        known = sorted(p.parent.name for p in FUNCTIONS_ROOT.glob("*/app.py"))
        raise LookupError(
            f"no function {function!r}: {handler} does not exist; functions with a "
            f"handler: {', '.join(known) or 'none'}"
        )
    spec = importlib.util.spec_from_file_location(name, handler)
    if spec is None or spec.loader is None:
        raise ImportError(f"no handler module at {handler}")
    added = str(folder) not in sys.path
    if added:
        sys.path.insert(0, str(folder))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        if added:
            sys.path.remove(str(folder))
        raise
    return module


@dataclass
class FakeLambdaContext:
    """The attributes of a Lambda context object that our handlers and Powertools read."""

    function_name: str = "local-function"
    memory_limit_in_mb: int = 256
    timeout_ms: int = 30_000
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local-function"
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:ap-northeast-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms
