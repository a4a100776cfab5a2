"""The brokers of the fault suite, driven through deploy/kafka/cluster.sh: a three-node KRaft
cluster (replication 3, min.insync.replicas=2), or a single node."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class KafkaNodes:
    repo: Path
    nodes: int  # 1 or 3
    port_base: int  # node N: clients on BASE+N, controller on BASE+10+N
    data_dir: Path

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.port_base + n}" for n in range(1, self.nodes + 1))

    def node_of_port(self, port: int) -> int:
        return port - self.port_base

    def _script(self, *args: str) -> float:
        """Run cluster.sh; seconds it took."""
        started = time.monotonic()
        env = {
            "CLUSTER_NODES": str(self.nodes),
            "CLUSTER_PORT_BASE": str(self.port_base),
            "CLUSTER_DATA_DIR": str(self.data_dir),
        }
        result = subprocess.run(  # noqa: S603 - our own script
            ["bash", str(self.repo / "deploy" / "kafka" / "cluster.sh"), *args],  # noqa: S607
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"cluster.sh {' '.join(args)}:\n{result.stdout}{result.stderr}")
        return time.monotonic() - started

    def fresh(self) -> None:
        self._script("down")
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self._script("up")

    def down(self) -> None:
        self._script("down")

    def kill(self, node: int) -> float:
        """SIGKILL: a crash."""
        return self._script("kill", str(node))

    def stop(self, node: int) -> float:
        """SIGTERM: a clean stop."""
        return self._script("stop", str(node))

    def start(self, node: int) -> float:
        """Start node N again; seconds until it answered."""
        return self._script("start", str(node))
