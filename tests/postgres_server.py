"""A PostgreSQL server with pgvector on loopback (TCP, 127.0.0.1) for the tests, the eval's CI
subset and bench/collection.py. Its programs come from the pgserver wheel of the test extra:
nothing is installed system-wide, and nothing listens beyond this machine.

>>> with PostgresServer(Path(tempfile.mkdtemp())) as url:  # doctest: +SKIP
...     psycopg.connect(url).execute("SELECT 1")
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType


def free_port() -> int:
    """A TCP port on loopback that nothing listens on, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """Initialises a data folder (pgserver runs it as its own user when we are root, since
    PostgreSQL refuses root) and serves it on 127.0.0.1 until the block ends."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.user: str | None = None

    def __enter__(self) -> str:
        import pgserver

        self.folder.mkdir(parents=True, exist_ok=True)
        # pgserver initialises the folder (and makes its system user when we are root), then
        # serves it on a socket; stopped at once, it is started again on TCP below.
        server = pgserver.get_server(self.folder, cleanup_mode="stop")
        self.user = server.system_user
        server.cleanup()
        self.bin = Path(pgserver.__file__).parent / "pginstall" / "bin"
        self.start()
        return self.url

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder}"
        self._ctl("-o", options, "-l", str(self.folder / "log"), "start")

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [str(self.bin / "pg_ctl"), "-D", str(self.folder), "-w", *args],
            check=True,
            capture_output=True,
            user=self.user,
            env={**os.environ, "LC_ALL": "C"},
            timeout=60,
        )


if __name__ == "__main__":  # a server for trying things by hand: python tests/postgres_server.py
    import time

    with PostgresServer(Path(tempfile.mkdtemp(prefix="rag-pg-"))) as url:
        print(url, flush=True)
        while True:
            time.sleep(3600)
