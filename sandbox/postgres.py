"""A throwaway PostgreSQL cluster on 127.0.0.1, for the tests and the benchmarks.

``start_cluster()`` runs the distribution's ``initdb`` into a temporary directory (trust
authentication, no locale), starts it with ``pg_ctl`` listening only on 127.0.0.1 at a free port
(its unix socket in the same directory), and ``stop()`` shuts it down and removes the directory.
PostgreSQL refuses to run as root; as root, both run as the ``postgres`` system user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import asyncpg

INSTALL_HINT: Final = (
    "PostgreSQL's server programs (initdb, pg_ctl) were not found: install Debian's `postgresql` "
    "package (apt-get install postgresql), or set PIKABOT_SKIP_POSTGRES=1 to skip the PostgreSQL tests"
)
HOST: Final = "127.0.0.1"
SUPERUSER: Final = "postgres"
# Speed over durability for tests (each test's database is thrown away); the benchmarks keep
# PostgreSQL's defaults so their figures mean what they would in production.
_FAST: Final = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")


class PostgresNotInstalled(RuntimeError):
    """initdb and pg_ctl are not on this machine."""


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl are: ``pg_config --bindir``, else the newest /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            # S603: the command is PostgreSQL's own program found on PATH, with a fixed argument.
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True)  # noqa: S603
            candidates.append(Path(out.stdout.strip()))
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    candidates.extend(versions)
    initdb = shutil.which("initdb")
    if initdb is not None:
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


def _version_key(bindir: Path) -> int:
    name = bindir.parent.name
    return int(name) if name.isdigit() else 0


@dataclass
class PostgresCluster:
    """A running throwaway cluster; ``url(name)`` is how to reach one of its databases."""

    root: Path
    bindir: Path
    port: int
    _prefix: tuple[str, ...] = field(default=(), repr=False)

    def url(self, database: str = "postgres") -> str:
        """``postgresql://postgres@127.0.0.1:PORT/database`` (trust authentication: no password)."""
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{database}"

    async def create_database(self, name: str, *, template: str = "template0") -> str:
        """CREATE DATABASE `name` as a copy of `template` (a few ms); its URL."""
        conn = await asyncpg.connect(self.url())
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            await conn.close()
        return self.url(name)

    async def drop_database(self, name: str) -> None:
        """DROP DATABASE `name`, closing any connection still open to it."""
        conn = await asyncpg.connect(self.url())
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    def stop(self) -> None:
        """Shut the server down and remove its directory."""
        try:
            pg_ctl = str(self.bindir / "pg_ctl")
            _run([*self._prefix, pg_ctl, "-D", str(self.root / "data"), "-m", "fast", "-w", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_cluster(*, durable: bool = False) -> PostgresCluster:
    """initdb + pg_ctl start in a new temporary directory; PostgresNotInstalled without the programs."""
    bindir = find_bindir()
    if bindir is None:
        raise PostgresNotInstalled(INSTALL_HINT)
    root = Path(tempfile.mkdtemp(prefix="pikabot-pg-"))
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        # initdb and postgres refuse root; the data directory must belong to the user they run as.
        user = pwd.getpwnam(SUPERUSER)
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = ("runuser", "-u", SUPERUSER, "--")
    try:
        initdb = [str(bindir / "initdb"), "-D", str(root / "data"), "-A", "trust", "-U", SUPERUSER]
        initdb += ["-E", "UTF8", "--no-locale"] + ([] if durable else ["--no-sync"])
        _run([*prefix, *initdb])
        return _start(root, bindir, prefix, durable)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def _start(root: Path, bindir: Path, prefix: tuple[str, ...], durable: bool) -> PostgresCluster:
    last: ClusterCommandFailed | None = None
    for _ in range(5):  # another process may take the free port between our look and the bind
        port = _free_port()
        options = ["-c", f"listen_addresses={HOST}", "-p", str(port), "-k", str(root)]
        options += ["-c", "max_connections=200", *([] if durable else _FAST)]
        command = [str(bindir / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "server.log")]
        command += ["-w", "-t", "60", "-o", " ".join(options), "start"]
        try:
            _run([*prefix, *command])
        except ClusterCommandFailed as exc:
            last = exc
            continue
        return PostgresCluster(root, bindir, port, prefix)
    log_file = root / "server.log"
    log_tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
    raise ClusterCommandFailed(f"PostgreSQL did not start: {last}\n{log_tail}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class ClusterCommandFailed(RuntimeError):
    """initdb or pg_ctl exited non-zero; the message carries what it said on stderr."""


def _run(command: list[str]) -> None:
    # S603: every command is built here from PostgreSQL's programs and our own paths.
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
    if done.returncode != 0:
        program = Path(next(part for part in command if "/" in part)).name
        raise ClusterCommandFailed(f"{program} exited {done.returncode}: {done.stderr.strip()}")
