"""``AlipayMock``: one ``alipay-mock serve`` process on a free loopback port, and its controls."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any, Optional, Sequence

from ._binary import find_binary
from .admin import DEFAULT_APP_ID, AdminClient
from .types import CertApp, KeyApp

#: The line the gateway prints on stdout once it accepts calls.
_READY = re.compile(rb"alipay-mock listening on (http://(\S+?))/gateway\.do")
#: The certificate-mode app of the fixtures.
CERT_APP_ID = "2021000000000003"
#: The default app's AES key (the fixtures' ``keys/aes_key.txt``).
DEFAULT_AES_KEY = "mRpcDcfCIHfPn/09B9QiJg=="


class GatewayStartError(RuntimeError):
    """The gateway process exited or printed no ready line in time; carries its stderr."""


def _fixtures() -> Path:
    # The package's copy of the gateway's public test keys and certificates.
    return Path(str(resources.files("alipay_mock") / "fixtures"))


def _default_app() -> KeyApp:
    keys = _fixtures() / "keys"
    return KeyApp(
        app_id=DEFAULT_APP_ID,
        private_key_path=keys / "app_private_key.pem",
        private_key_pkcs1_path=keys / "app_private_key_pkcs1.pem",
        alipay_public_key_path=keys / "alipay_public_key.pem",
        aes_key=DEFAULT_AES_KEY,
    )


def _cert_app() -> CertApp:
    certs = _fixtures() / "certs"
    return CertApp(
        app_id=CERT_APP_ID,
        private_key_path=certs / "app_private_key.pem",
        private_key_pkcs1_path=certs / "app_private_key_pkcs1.pem",
        app_cert_path=certs / "app_cert_public_key.crt",
        alipay_cert_path=certs / "alipay_cert_public_key_rsa2.crt",
        alipay_root_cert_path=certs / "alipay_root_cert.crt",
    )


class AlipayMock(AdminClient):
    """A gateway of its own: ``alipay-mock serve --ephemeral`` on ``127.0.0.1`` and a free port.

    The store is in memory and seeded from the fixtures compiled into the binary, so
    every instance starts from the same state. Use it as a context manager, or call
    :meth:`start` and :meth:`stop`::

        with AlipayMock() as gw:
            client = make_client(gw.url, gw.default_app)
            gw.force("ZM_ACCOUNT_PAUSE")
            ...

    Args:
        binary: the ``alipay-mock`` executable; default :func:`alipay_mock.find_binary`.
        admin_token: start the gateway with ``--admin-token`` and send it on every call.
        args: more ``serve`` arguments, e.g. ``["--timestamp-window", "15"]``.
        start_timeout: seconds to wait for the ready line.
    """

    def __init__(
        self,
        binary: Optional[str] = None,
        *,
        admin_token: Optional[str] = None,
        args: Sequence[str] = (),
        start_timeout: float = 30.0,
    ) -> None:
        super().__init__("", token=admin_token)
        self._binary = binary
        self._admin_token = admin_token
        self._args = list(args)
        self._start_timeout = start_timeout
        self._process: Optional[subprocess.Popen[bytes]] = None
        self._logs: Optional[tempfile.TemporaryDirectory[str]] = None
        self._url: Optional[str] = None
        #: The default app (key mode, RSA2 and RSA, AES): app id, key files and PEM texts.
        self.default_app: KeyApp = _default_app()
        #: The certificate-mode app: app id, key and certificate files.
        self.cert_app: CertApp = _cert_app()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/gateway.do``: the SDK's gateway URL."""
        if self._url is None:
            raise RuntimeError("the gateway is not running: call start() or use `with AlipayMock() as gw:`")
        return self._url

    @property
    def port(self) -> int:
        """The TCP port the gateway listens on."""
        return int(self.url.rsplit(":", 1)[1].split("/", 1)[0])

    def start(self) -> "AlipayMock":
        """Starts the gateway and waits for its ready line; returns self.

        Raises:
            BinaryNotFoundError: no binary (see :func:`alipay_mock.find_binary`).
            GatewayStartError: the process exited, or printed no ready line in time.
        """
        if self._process is not None:
            return self
        binary = self._binary or find_binary()
        self._logs = tempfile.TemporaryDirectory(prefix="alipay-mock-")
        out_path = Path(self._logs.name) / "stdout"
        err_path = Path(self._logs.name) / "stderr"
        command = [binary, "serve", "--ephemeral", "--addr", "127.0.0.1:0", *self._args]
        if self._admin_token:
            command += ["--admin-token", self._admin_token]
        env = {k: v for k, v in os.environ.items() if k != "ALIPAY_MOCK_ADMIN_TOKEN"}
        # Files, not pipes: nobody has to drain them, so the gateway never blocks on a log line.
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env
            )
        deadline = time.monotonic() + self._start_timeout
        while True:
            found = _READY.search(out_path.read_bytes())
            if found:
                base = found.group(1).decode("ascii")
                self.base_url = base
                self._url = base + "/gateway.do"
                return self
            if self._process.poll() is not None:
                why = f"exited with status {self._process.returncode}"
            elif time.monotonic() > deadline:
                why = f"printed no ready line within {self._start_timeout:g} s"
            else:
                time.sleep(0.005)
                continue
            stderr = err_path.read_text("utf-8", "replace")[-2000:]
            self.stop()
            raise GatewayStartError(f"{' '.join(command)} {why}; stderr:\n{stderr}")

    def stop(self) -> None:
        """Stops the gateway (SIGTERM, then SIGKILL after 5 s) and removes its logs."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._logs is not None:
            self._logs.cleanup()
            self._logs = None
        self._url = None

    def call(self, method: str, path: str, body: Any = None, query: Any = None) -> Any:
        """One admin call (see :meth:`AdminClient.call`); the gateway must be running."""
        if self._url is None:
            raise RuntimeError("the gateway is not running: call start() or use `with AlipayMock() as gw:`")
        return super().call(method, path, body, query)

    def __enter__(self) -> "AlipayMock":
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()

    def __del__(self) -> None:
        # A gateway a test forgot to stop must not outlive the interpreter's objects.
        if getattr(self, "_process", None) is not None:
            try:
                self.stop()
            except Exception:  # noqa: BLE001 (interpreter shutdown may have torn modules down)
                pass
