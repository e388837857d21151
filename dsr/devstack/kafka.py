"""Embedded Kafka 4.4.0 (KRaft) nodes for development and tests, fetched with Maven."""

from __future__ import annotations

import argparse
import atexit
import base64
import collections
import fcntl
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from importlib.resources import as_file, files
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dsr.devstack.listener import SecuredListener

KAFKA_VERSION = "4.4.0"
POM_FILE = files(__package__) / "kafka-pom.xml"
JARS_ENV = "DSR_KAFKA_JARS"
MARKER_NAME = ".complete"
NODE_ID = 1

log = logging.getLogger(__name__)


class DevstackError(RuntimeError):
    """The embedded broker could not be provisioned, started or reached."""


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _port_accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _require_tool(name: str, purpose: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise DevstackError(f"'{name}' was not found on PATH; it is needed {purpose}.")
    return path


def _log_excerpt(path: Path, offset: int = 0, tail: int = 15) -> str:
    """The ERROR/FATAL lines (each with the line after it) and the last lines of a broker log, from offset on."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            lines = handle.read().decode(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    pairs = zip(lines, lines[1:] + [""], strict=False)
    errors = [f"{line}\n{nxt}" for line, nxt in pairs if " ERROR " in line or " FATAL " in line]
    excerpt = f"last lines of {path}:\n" + "\n".join(lines[-tail:])
    return ("errors:\n" + "\n".join(errors[-4:]) + "\n" + excerpt) if errors else excerpt


def _locked_by_another_process(lock_file: Path) -> bool:
    """True if a running JVM holds Kafka's lock on a log dir (Java file locks are fcntl locks on Linux)."""
    if not lock_file.is_file():
        return False
    with lock_file.open("a") as handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.lockf(handle, fcntl.LOCK_UN)
        return False


# --------------------------------------------------------------------------- jars


def default_jars_dir() -> Path:
    """Where the broker jars are cached: $DSR_KAFKA_JARS or ~/.cache/dsr-pipeline/kafka-VERSION."""
    override = os.environ.get(JARS_ENV)
    if override:
        return Path(override).expanduser()
    return Path.home() / ".cache" / "dsr-pipeline" / f"kafka-{KAFKA_VERSION}"


def _jars_complete(jars_dir: Path) -> bool:
    marker = jars_dir / MARKER_NAME
    if not marker.is_file():
        return False
    names = marker.read_text().split()
    return bool(names) and all((jars_dir / name).is_file() for name in names)


def _run_maven(target: Path) -> None:
    """Maven's copy of the broker's runtime jars into `target`, with a line per jar it downloads:
    the first run fetches about a hundred of them, which takes a while in silence otherwise."""
    mvn = _require_tool("mvn", "to fetch the Kafka broker jars (install Apache Maven)")
    tail: collections.deque[str] = collections.deque(maxlen=40)  # for the error message
    with as_file(POM_FILE) as pom:
        cmd = [mvn, "-B", "-f", str(pom), "dependency:copy-dependencies", "-DincludeScope=runtime"]
        with subprocess.Popen(
            [*cmd, f"-DoutputDirectory={target}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as maven:
            assert maven.stdout is not None
            for line in maven.stdout:
                tail.append(line)
                _show_download(line)
    if maven.returncode != 0:
        output = "".join(tail)[-3000:]
        raise DevstackError(f"Maven could not fetch the Kafka jars (exit {maven.returncode}):\n{output}")


_DOWNLOADED_JAR = re.compile(r"Downloaded from [^:]+: \S*/(?P<name>[^/\s]+\.jar) \((?P<size>[\d.]+ [kMG]?B)")


def _show_download(maven_line: str) -> None:
    found = _DOWNLOADED_JAR.search(maven_line)
    if found:
        print(f"  downloaded {found['name']} ({found['size']})", file=sys.stderr, flush=True)


def _install_jars(jars_dir: Path) -> None:
    """Download into a staging dir, write the marker, then move it into place."""
    jars_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = jars_dir.with_name(f"{jars_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _run_maven(staging)
        names = sorted(p.name for p in staging.glob("*.jar"))
        if not names:
            raise DevstackError(f"Maven finished but copied no jars into {staging}.")
        (staging / MARKER_NAME).write_text("\n".join(names) + "\n")
        if _jars_complete(jars_dir):  # another process won the race
            return
        shutil.rmtree(jars_dir, ignore_errors=True)
        staging.rename(jars_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def ensure_kafka_jars(cache_dir: Path | None = None) -> Path:
    """Return a directory holding the Kafka broker jars, fetching them with Maven on first use."""
    _require_tool("java", "to run the embedded Kafka broker (install a JDK 17+)")
    jars_dir = Path(cache_dir) if cache_dir is not None else default_jars_dir()
    if not _jars_complete(jars_dir):
        _require_tool("mvn", "to fetch the Kafka broker jars (install Apache Maven)")
        print(f"fetching Kafka {KAFKA_VERSION} jars with Maven (first run only)...", file=sys.stderr, flush=True)
        started = time.monotonic()
        _install_jars(jars_dir)
        print(f"Kafka jars ready in {jars_dir} ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
    return jars_dir


# --------------------------------------------------------------------------- broker


def _new_cluster_id() -> str:
    """A Kafka-style Uuid: 16 random bytes, URL-safe base64 without padding, not starting with '-'."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


_RUNNING: set[EmbeddedKafka] = set()  # stopped at interpreter exit so no JVM outlives us


@atexit.register
def _stop_leftovers() -> None:
    for broker in list(_RUNNING):
        broker.stop()


class EmbeddedKafka:
    """A KRaft node (broker + controller) whose data lives in data_dir and survives restarts.

    Alone it is a one-node cluster (formatted `--standalone`). As a member of a cluster it is given its
    node id, the cluster id and the static `controller.quorum.voters`. With a `listener`, clients reach it
    on `port` through SSL, SASL_PLAINTEXT or SASL_SSL, while brokers and the readiness probe use a
    PLAINTEXT listener on `internal_port`."""

    def __init__(
        self,
        data_dir: Path,
        port: int = 9092,
        controller_port: int | None = None,
        heap: str = "512m",
        *,
        node_id: int = NODE_ID,
        cluster_id: str | None = None,
        voters: str | None = None,
        listener: SecuredListener | None = None,
        internal_port: int | None = None,
        replicas: int = 1,
        auto_create_topics: bool = True,
    ):
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.controller_port = controller_port if controller_port is not None else free_port()
        self.heap = heap
        self.node_id, self.voters, self.listener = node_id, voters, listener
        self.internal_port = (internal_port or free_port()) if listener is not None else port
        self.replicas = replicas  # of the internal topics (offsets, transactions): the cluster's size, up to 3
        self.auto_create_topics = auto_create_topics
        self._given_cluster_id = cluster_id
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    # ---- paths and state

    @property
    def bootstrap(self) -> str:
        """Where clients connect (the secured listener, if any)."""
        return f"127.0.0.1:{self.port}"

    @property
    def internal_bootstrap(self) -> str:
        """The PLAINTEXT listener: brokers among themselves, and the readiness probe."""
        return f"127.0.0.1:{self.internal_port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "kafka.log"

    @property
    def _log_dirs(self) -> Path:
        return self.data_dir / "kraft-logs"

    @property
    def _properties_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def _cluster_id_file(self) -> Path:
        return self.data_dir / "cluster.id"

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def cluster_id(self) -> str:
        """The cluster id kept in data_dir: made before the first format, recovered from the storage if lost."""
        if not self._cluster_id_file.is_file():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            chosen = self._formatted_cluster_id() or self._given_cluster_id or _new_cluster_id()
            self._cluster_id_file.write_text(chosen + "\n")
        return self._cluster_id_file.read_text().strip()

    def _formatted_cluster_id(self) -> str | None:
        meta = self._log_dirs / "meta.properties"
        lines = meta.read_text().splitlines() if meta.is_file() else []
        return next((line.split("=", 1)[1].strip() for line in lines if line.startswith("cluster.id=")), None)

    # ---- configuration and storage

    def _properties(self) -> dict[str, Any]:
        return self._node_properties() | self._listener_properties() | self._storage_properties()

    def _node_properties(self) -> dict[str, Any]:
        controller = f"127.0.0.1:{self.controller_port}"
        quorum = (
            {"controller.quorum.voters": self.voters}
            if self.voters
            else {"controller.quorum.bootstrap.servers": controller}
        )
        return {"process.roles": "broker,controller", "node.id": self.node_id, **quorum}

    def _listener_properties(self) -> dict[str, Any]:
        controller = f"CONTROLLER://127.0.0.1:{self.controller_port}"
        internal = f"PLAINTEXT://{self.internal_bootstrap}"
        protocols = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
        values: dict[str, Any] = {}
        if self.listener is not None:
            from dsr.devstack.listener import NAME

            client = f"{NAME}://{self.bootstrap}"
            internal, protocols = f"{client},{internal}", f"{NAME}:{self.listener.protocol},{protocols}"
            values = self.listener.properties()
        return values | {
            "listeners": f"{internal},{controller}",
            "advertised.listeners": internal,
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": protocols,
            "inter.broker.listener.name": "PLAINTEXT",
        }

    def _storage_properties(self) -> dict[str, Any]:
        replicas, min_isr = self.replicas, min(self.replicas, 2)
        return {
            "log.dirs": self._log_dirs,
            "num.partitions": 1,
            "auto.create.topics.enable": str(self.auto_create_topics).lower(),
            "log.segment.bytes": 16 * 1024 * 1024,
            "log.cleaner.enable": "true",
            # The cleaner allocates its dedupe buffer on the heap up front (default 128 MiB).
            "log.cleaner.dedupe.buffer.size": 16 * 1024 * 1024,
            "num.network.threads": 2,
            "num.io.threads": 4,
            "group.initial.rebalance.delay.ms": 0,
            # Internal topics: few partitions, so a first group or transaction is quick; as many replicas
            # as the cluster has nodes (up to 3).
            "offsets.topic.replication.factor": replicas,
            "offsets.topic.num.partitions": 4,
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": min_isr,
            "transaction.state.log.num.partitions": 4,
            "share.coordinator.state.topic.replication.factor": replicas,
            "share.coordinator.state.topic.min.isr": min_isr,
            "share.coordinator.state.topic.num.partitions": 4,
        }

    def _write_properties(self) -> None:
        lines = [f"{key}={value}" for key, value in self._properties().items()]
        header = "# Written by dsr.devstack.kafka; rewritten on every start.\n"
        self._properties_file.write_text(header + "\n".join(lines) + "\n")

    def _is_formatted(self) -> bool:
        return (self._log_dirs / "meta.properties").is_file()

    def _java(self, jars: Path, main_class: str, *args: str) -> list[str]:
        return [
            "java",
            f"-Xmx{self.heap}",
            "-Xms64m",
            "-XX:+UseSerialGC",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            "-cp",
            str(jars / "*"),
            main_class,
            *args,
        ]

    def _format(self, jars: Path) -> None:
        # Alone: a one-voter quorum (--standalone); in a cluster the voters are static (controller.quorum.voters).
        quorum = [] if self.voters else ["--standalone"]
        users = self.listener.format_args() if self.listener is not None else []
        args = ["format", "-t", self.cluster_id(), "-c", str(self._properties_file), *quorum, *users]
        cmd = self._java(jars, "kafka.tools.StorageTool", *args)
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            output = (result.stdout + result.stderr)[-3000:]
            raise DevstackError(f"formatting Kafka storage in {self._log_dirs} failed:\n{output}")
        log.info("formatted new Kafka storage in %s", self._log_dirs)

    # ---- lifecycle

    def start(self, timeout: float = 60) -> EmbeddedKafka:
        """Start the broker and return once it answers metadata requests; idempotent."""
        if self.is_running():
            return self
        self.launch()
        return self.wait_ready(timeout)

    def launch(self) -> None:
        """Format if needed and start the JVM without waiting: a cluster's nodes need each other to be ready."""
        jars = ensure_kafka_jars()
        self._check_not_in_use()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._write_properties()
        if not self._is_formatted():
            self._format(jars)
        self._launch(jars)

    def wait_ready(self, timeout: float = 60) -> EmbeddedKafka:
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        log.info("Kafka %s ready at %s (data in %s)", KAFKA_VERSION, self.bootstrap, self.data_dir)
        return self

    def _startup_log(self) -> str:
        return _log_excerpt(self.log_file, self._log_offset)

    def _check_not_in_use(self) -> None:
        """Refuse ports already bound and a data_dir another broker still runs on (it would corrupt it)."""
        if _locked_by_another_process(self._log_dirs / ".lock"):
            raise DevstackError(f"another Kafka process is still running on {self.data_dir}; stop it first.")
        self._check_ports_free()

    def _check_ports_free(self) -> None:
        for port in {self.port, self.internal_port, self.controller_port}:
            if not _port_is_free(port):
                raise DevstackError(f"port {port} on 127.0.0.1 is already in use; pick another port.")

    def _launch(self, jars: Path) -> None:
        cmd = self._java(jars, "kafka.Kafka", str(self._properties_file))
        with self.log_file.open("ab") as out:
            self._log_offset = out.tell()
            out.write(f"\n===== starting Kafka {KAFKA_VERSION} at {time.strftime('%F %T')} =====\n".encode())
            out.flush()
            # Own session: a terminal Ctrl-C reaches only us, and stop() decides how the JVM ends.
            self._proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        _RUNNING.add(self)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if not self.is_running():
                raise DevstackError(f"Kafka exited during start-up; {self._startup_log()}")
            if _port_accepts(self.internal_port) and self._answers():
                return
            if time.monotonic() > deadline:
                raise DevstackError(f"Kafka did not answer within {timeout:.0f} s; {self._startup_log()}")
            time.sleep(0.2)

    def _answers(self) -> bool:
        """True when the broker on our port serves metadata for our cluster with our node unfenced."""
        from kafka import KafkaAdminClient  # deferred: kafka-python is only needed once a broker runs

        try:
            admin = KafkaAdminClient(
                bootstrap_servers=self.internal_bootstrap, client_id="dsr-devstack-probe", request_timeout_ms=5000
            )
        except Exception:  # noqa: BLE001 - not reachable yet, whatever kafka-python raises
            return False
        try:
            cluster = admin.describe_cluster()
        except Exception:  # noqa: BLE001 - same: the probe answers "not yet"
            return False
        finally:
            admin.close()
        if cluster.get("cluster_id") != self.cluster_id():
            raise DevstackError(f"another Kafka cluster answers on {self.internal_bootstrap}.")
        brokers = cluster.get("brokers", [])
        return any(b.get("broker_id") == self.node_id and not b.get("is_fenced", False) for b in brokers)

    def stop(self, timeout: float = 20) -> None:
        """Stop the broker: SIGTERM for a clean shutdown, SIGKILL if it takes longer than timeout."""
        proc, self._proc = self._proc, None
        _RUNNING.discard(self)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("Kafka did not stop within %.0f s; killing it", timeout)
            proc.kill()
            proc.wait()

    def signal_stop(self) -> None:
        """SIGTERM without waiting: a cluster's nodes shut down together, or the last ones lose their quorum."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()

    def kill(self) -> None:
        """SIGKILL, as a crash or a lost machine would: no clean shutdown."""
        proc, self._proc = self._proc, None
        _RUNNING.discard(self)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def wait(self) -> int:
        """Block until the broker process exits; return its exit code."""
        if self._proc is None:
            return 0
        return self._proc.wait()

    def __enter__(self) -> EmbeddedKafka:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"EmbeddedKafka({self.bootstrap}, data_dir={str(self.data_dir)!r}, {state})"


# --------------------------------------------------------------------------- CLI


def _cmd_jars(args: argparse.Namespace) -> int:
    print(ensure_kafka_jars(args.cache_dir))
    return 0


def _cmd_start(args: argparse.Namespace) -> int:
    broker = EmbeddedKafka(args.data_dir, port=args.port, controller_port=args.controller_port, heap=args.heap)
    # Ctrl-C and SIGTERM both end in the finally below, even when started from a script with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    started = time.monotonic()
    try:
        broker.start(timeout=args.timeout)
        print(
            f"started in {time.monotonic() - started:.1f} s; broker log: {broker.log_file}; Ctrl-C stops it.",
            file=sys.stderr,
            flush=True,
        )
        code = broker.wait()
        print(f"Kafka exited with code {code}; {_log_excerpt(broker.log_file)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        if broker.is_running():
            print("stopping Kafka...", file=sys.stderr, flush=True)
        broker.stop()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dsr.devstack.kafka", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    jars = sub.add_parser("jars", help="fetch the Kafka jars into the cache and print its path")
    jars.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help=f"default: ${JARS_ENV} or ~/.cache/dsr-pipeline/kafka-{KAFKA_VERSION}",
    )
    jars.set_defaults(func=_cmd_jars)
    start = sub.add_parser("start", help="run a broker in the foreground until Ctrl-C")
    start.add_argument("--data-dir", type=Path, required=True, help="broker data; kept across restarts")
    start.add_argument("--port", type=int, default=9092)
    start.add_argument("--controller-port", type=int, default=None, help="default: a free port")
    start.add_argument("--heap", default="512m", help="JVM -Xmx value")
    start.add_argument("--timeout", type=float, default=60, help="seconds to wait for the broker to answer")
    start.set_defaults(func=_cmd_start)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)  # the readiness probe's client chatter
    try:
        return args.func(args)
    except DevstackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
