"""Several embedded Kafka nodes on one machine forming one KRaft cluster (each node broker and controller)."""

from __future__ import annotations

import time
from pathlib import Path

from dsr.devstack.kafka import EmbeddedKafka, _new_cluster_id, free_port
from dsr.devstack.listener import SecuredListener


class KafkaCluster:
    """`size` nodes with node ids 1..size, their own ports and log dirs under data_dir, one cluster id
    and a static quorum of every node (`controller.quorum.voters`), each formatted without --standalone.
    The nodes start together: a controller quorum needs a majority before any broker is ready."""

    def __init__(
        self,
        data_dir: Path,
        size: int = 3,
        *,
        listener: SecuredListener | None = None,
        heap: str = "384m",
        auto_create_topics: bool = True,
    ) -> None:
        data_dir = Path(data_dir)
        controller_ports = [free_port() for _ in range(size)]
        voters = ",".join(f"{i + 1}@127.0.0.1:{port}" for i, port in enumerate(controller_ports))
        cluster_id = _read_or_make_cluster_id(data_dir)
        self.nodes = [
            EmbeddedKafka(
                data_dir / f"node-{i + 1}",
                port=free_port(),
                controller_port=controller_ports[i],
                heap=heap,
                node_id=i + 1,
                cluster_id=cluster_id,
                voters=voters,
                listener=listener,
                replicas=min(size, 3),
                auto_create_topics=auto_create_topics,
            )
            for i in range(size)
        ]

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    def node(self, node_id: int) -> EmbeddedKafka:
        return self.nodes[node_id - 1]

    def start(self, timeout: float = 120) -> KafkaCluster:
        deadline = time.monotonic() + timeout
        try:
            for node in self.nodes:
                if not node.is_running():
                    node.launch()
            for node in self.nodes:
                node.wait_ready(max(1.0, deadline - time.monotonic()))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.signal_stop()
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> KafkaCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _read_or_make_cluster_id(data_dir: Path) -> str:
    path = data_dir / "cluster.id"
    if not path.is_file():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(_new_cluster_id() + "\n")
    return path.read_text().strip()
