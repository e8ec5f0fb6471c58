from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def u2net_home() -> Path:
    """A U2NET_HOME holding u2netp: $U2NET_HOME when it has it (CI), else seeded once by .ci/fetch_u2netp.sh."""
    env = os.environ.get("U2NET_HOME")
    for home in ([Path(env)] if env else []) + [Path.home() / ".cache" / "celebamat-tests" / "u2net"]:
        if (home / "models" / "u2netp" / "u2netp.onnx").is_file() or (home / "u2netp.onnx").is_file():
            return home
    home = Path.home() / ".cache" / "celebamat-tests" / "u2net"
    subprocess.run(["bash", str(REPO / ".ci" / "fetch_u2netp.sh"), str(home)], check=True,
                   env={**os.environ, "PYTHON": sys.executable})
    return home
