"""Where the ``alipay-mock`` binary is: ``ALIPAY_MOCK_BIN``, else the one this wheel installed."""

from __future__ import annotations

import os
import shutil
import sysconfig
from pathlib import Path

BIN_ENV = "ALIPAY_MOCK_BIN"
_EXE = "alipay-mock.exe" if os.name == "nt" else "alipay-mock"


class BinaryNotFoundError(FileNotFoundError):
    """No ``alipay-mock`` binary could be found; the message names every place looked at."""


def find_binary() -> str:
    """The path of the ``alipay-mock`` binary to start.

    In order: the ``ALIPAY_MOCK_BIN`` environment variable (a path that must be
    executable), the binary the ``alipay-mock`` wheel installed into this environment's
    scripts folder, and ``alipay-mock`` on ``PATH``.

    Raises:
        BinaryNotFoundError: none of them exists, or ``ALIPAY_MOCK_BIN`` names a file
            that is not executable.
    """
    override = os.environ.get(BIN_ENV)
    if override:
        if os.path.isfile(override) and os.access(override, os.X_OK):
            return override
        raise BinaryNotFoundError(f"{BIN_ENV}={override!r} is not an executable file")
    scripts = Path(sysconfig.get_path("scripts")) / _EXE
    if scripts.is_file() and os.access(scripts, os.X_OK):
        return str(scripts)
    on_path = shutil.which(_EXE)
    if on_path:
        return on_path
    raise BinaryNotFoundError(
        f"no alipay-mock binary: {BIN_ENV} is not set, {scripts} (installed by the "
        "alipay-mock wheel) does not exist, and there is none on PATH; "
        f"`pip install alipay-mock`, or set {BIN_ENV} to a built binary "
        "(cargo build: target/debug/alipay-mock)"
    )
