"""Throwaway PostgreSQL clusters from Debian's server binaries, for tests and benchmarks."""

from __future__ import annotations

import argparse
import atexit
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dsr.devstack.kafka import DevstackError, free_port

BIN_ROOT = Path("/usr/lib/postgresql")  # Debian: /usr/lib/postgresql/<major>/bin
BINDIR_ENV = "DSR_POSTGRES_BINDIR"
SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")
SERVER_USER = "postgres"  # created by Debian's package; the server refuses to run as root
INSTALL_HINT = (
    "install Debian's PostgreSQL server: run scripts/ensure-postgres "
    "(apt-get install -y --no-install-recommends postgresql)"
)
# Speed over durability: the cluster is deleted at exit.
SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "64MB",
    "log_min_messages": "warning",
    "log_checkpoints": "off",
}


class PostgresMissing(DevstackError):
    """Debian's PostgreSQL server binaries are not installed."""


def find_bindir(root: Path = BIN_ROOT) -> Path:
    """The newest `<root>/<major>/bin` holding initdb, pg_ctl and postgres; $DSR_POSTGRES_BINDIR wins."""
    override = os.environ.get(BINDIR_ENV)
    candidates = [Path(override)] if override else sorted(Path(root).glob("*/bin"), key=_major, reverse=True)
    for bindir in candidates:
        if all(os.access(bindir / tool, os.X_OK) for tool in SERVER_TOOLS):
            return bindir
    where = override or f"{root}/*/bin"
    raise PostgresMissing(
        f"PostgreSQL server binaries ({', '.join(SERVER_TOOLS)}) not found in {where}; "
        f"{INSTALL_HINT}. Or set DSR_TEST_POSTGRES_DSN to a running server."
    )


def _major(bindir: Path) -> float:
    try:
        return float(bindir.parent.name)
    except ValueError:
        return 0.0


def with_database(dsn: str, name: str) -> str:
    """The same server and credentials, another database."""
    return make_conninfo(**(conninfo_to_dict(dsn) | {"dbname": name}))


def create_database(dsn: str, name: str | None = None) -> str:
    """A new, empty database (C collation, so ORDER BY sorts as Python and SQLite do); its DSN."""
    name = name or f"dsr_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING UTF8 LC_COLLATE 'C' LC_CTYPE 'C'")
    return with_database(dsn, name)


def drop_database(dsn: str, name: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_RUNNING: set[EmbeddedPostgres] = set()  # stopped at interpreter exit so no server outlives us


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_RUNNING):
        server.stop()


class EmbeddedPostgres:
    """A cluster in a temporary directory, on 127.0.0.1 and a free port, removed by stop()."""

    def __init__(self, port: int | None = None, database: str = "dsr", bindir: Path | None = None) -> None:
        self.port = port or free_port()
        self.database = database
        self._bindir = bindir
        self.root: Path | None = None

    @property
    def admin_dsn(self) -> str:
        return make_conninfo(host="127.0.0.1", port=self.port, user=SERVER_USER, dbname="postgres")

    @property
    def dsn(self) -> str:
        return with_database(self.admin_dsn, self.database)

    @property
    def log_file(self) -> Path:
        assert self.root is not None
        return self.root / "postgres.log"

    def start(self, timeout: float = 60) -> EmbeddedPostgres:
        bindir = self._bindir or find_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="dsr-postgres-"))
        _RUNNING.add(self)
        try:
            self._give_to_server_user(self.root)
            self._run(
                bindir / "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SERVER_USER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            )
            self._configure()
            self._run(
                bindir / "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            )
            create_database(self.admin_dsn, self.database)
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    def _configure(self) -> None:
        socket_dir = self.root / "socket"
        socket_dir.mkdir()
        self._give_to_server_user(socket_dir)
        conf = SETTINGS | {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{socket_dir}'",
        }
        with (self.data_dir / "postgresql.conf").open("a") as out:
            out.write("\n# dsr.devstack.postgres: a throwaway cluster\n")
            out.writelines(f"{key} = {value}\n" for key, value in conf.items())

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete the cluster; idempotent."""
        _RUNNING.discard(self)
        root, self.root = self.root, None
        if root is None:
            return
        if (root / "data" / "postmaster.pid").exists():
            bindir = self._bindir or find_bindir()
            subprocess.run(
                _as_server_user([str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "-w", "stop"]),
                capture_output=True,
            )
        shutil.rmtree(root, ignore_errors=True)

    def _run(self, *cmd: str | Path) -> None:
        result = subprocess.run(
            _as_server_user([str(c) for c in cmd]), capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr)[-3000:]
            log = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.is_file() else ""
            raise DevstackError(f"{Path(cmd[0]).name} failed (exit {result.returncode}):\n{output}\n{log}")

    @staticmethod
    def _give_to_server_user(path: Path) -> None:
        if os.geteuid() == 0:
            entry = _server_user()
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmbeddedPostgres(127.0.0.1:{self.port}, root={str(self.root)!r})"


def _server_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresMissing(
            f"running as root, but there is no '{SERVER_USER}' system user to run the server "
            f"as (Debian's package creates it); {INSTALL_HINT}"
        ) from None


def _as_server_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run the tool as the `postgres` system user."""
    if os.geteuid() != 0:
        return cmd
    _server_user()
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", SERVER_USER, "--", *cmd]
    return ["su", SERVER_USER, "-s", "/bin/sh", "-c", " ".join(_quote(c) for c in cmd)]


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\"'\"'") + "'"


# --------------------------------------------------------------------------- CLI


def _cmd_check(args: argparse.Namespace) -> int:
    print(find_bindir())
    return 0


def _cmd_start(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with EmbeddedPostgres(port=args.port) as server:
        print(server.dsn, flush=True)
        print("Ctrl-C stops the server and deletes its data.", file=sys.stderr, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dsr.devstack.postgres", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="print the server binaries' directory, or fail with the fix").set_defaults(
        func=_cmd_check
    )
    start = sub.add_parser("start", help="run a throwaway cluster until Ctrl-C; prints its DSN")
    start.add_argument("--port", type=int, default=None, help="default: a free port")
    start.set_defaults(func=_cmd_start)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except DevstackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
