"""The client over TLS, against ``qobjects serve --demo`` with certificates made here."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

import qobjects
from qobjects import ConnectionLost, StateError
from tests.qmp.conftest import QEMU, client_context

_plain_connect: Any = qobjects.connect  # the tests' server speaks the default schema
_plain_aconnect: Any = qobjects.aconnect


def _serve(*args: str) -> tuple[subprocess.Popen[str], int]:
    """``qobjects serve --demo --tcp 127.0.0.1:0 ARGS``, and the port it listens on."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "qobjects", "serve", "--demo", "--tcp", "127.0.0.1:0", *args],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    if "serving" not in line:
        proc.kill()
        raise AssertionError(f"qobjects serve did not start: {line}{proc.communicate()[1]}")
    return proc, int(line.split(":")[-1].split()[0])


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    rest = proc.communicate(timeout=10)[1]
    assert proc.returncode == 0, rest
    return rest


@pytest.fixture
def tls_server(tls_files: dict[str, Path]) -> Iterator[int]:
    """A TLS demo server that requires client certificates; yields its port."""
    proc, port = _serve(
        "--tls-cert", str(tls_files["cert"]), "--tls-key", str(tls_files["key"]),
        "--tls-ca", str(tls_files["ca"]),
    )  # fmt: skip
    yield port
    assert "Traceback" not in _stop(proc)


def test_sync_session_over_tls_commands_signals_and_threads(ca: trustme.CA, tls_server: int) -> None:
    with _plain_connect(f"tcp:127.0.0.1:{tls_server}", ssl=client_context(ca, True)) as s:
        assert s.ssl is not None
        devices = s.query_block()
        assert [d.device.value for d in devices] == ["ide0-hd0", "ide1-cd0"]
        cd = devices[1].device
        seen: list[bool] = []
        moved = threading.Event()

        def on_tray(owner: object, tray_open: bool) -> None:
            seen.append(tray_open)
            if len(seen) == 2:
                moved.set()

        cd.tray_moved.connect(on_tray)

        s.flush()
        # Callers in several threads write while the reader thread decrypts:
        # every reply reaches its caller.
        errors: list[BaseException] = []

        def caller() -> None:
            try:
                for _ in range(100):
                    assert len(s.query_block()) == 2
            except BaseException as err:
                errors.append(err)

        threads = [threading.Thread(target=caller) for _ in range(4)]
        for t in threads:
            t.start()
        s.eject(device=cd, force=True)
        s.execute("blockdev-close-tray", device=cd)
        for t in threads:
            t.join(30)
        assert errors == []
        assert moved.wait(5)
        assert seen == [True, False]


def test_async_session_over_tls(ca: trustme.CA, tls_server: int) -> None:
    async def main() -> list[bool]:
        async with await _plain_aconnect(f"tcp:127.0.0.1:{tls_server}", ssl=client_context(ca, True)) as s:
            cd = (await s.query_block())[1].device
            seen: list[bool] = []
            cd.tray_moved.connect(lambda owner, tray_open: seen.append(tray_open))
            await s.flush()
            await s.eject(device=cd, force=True)
            results = await asyncio.gather(*(s.query_block() for _ in range(50)))
            assert all(len(r) == 2 for r in results)
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
            return seen

    assert asyncio.run(main()) == [True]


def _open_sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(FileNotFoundError):  # the listing's own descriptor
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return count


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts sockets in /proc/self/fd (Linux)")
def test_closing_an_async_tls_session_closes_its_socket(ca: trustme.CA, tls_server: int) -> None:
    # TLS says goodbye (close_notify) before the socket closes: close() waits
    # for that, so that nothing is left open when the caller's loop ends.
    async def main() -> tuple[int, int]:
        before = _open_sockets()
        s = await _plain_aconnect(f"tcp:127.0.0.1:{tls_server}", ssl=client_context(ca, True))
        await s.query_block()
        during = _open_sockets()
        await s.close()
        return during - before, _open_sockets() - before

    assert asyncio.run(main()) == (1, 0)


def test_the_server_certificate_must_be_trusted(tls_server: int) -> None:
    untrusting = ssl.create_default_context()  # the system's CAs, not the test CA
    address = f"tcp:127.0.0.1:{tls_server}"
    failed = r"TLS handshake with tcp:127\.0\.0\.1:\d+ failed: certificate verify"
    with pytest.raises(ConnectionLost, match=failed):
        _plain_connect(address, ssl=untrusting, timeout=5)

    async def main() -> None:
        await _plain_aconnect(address, ssl=untrusting, timeout=5)

    with pytest.raises(ConnectionLost, match=r"TLS handshake with .* failed: certificate verify"):
        asyncio.run(main())


def test_the_certificate_must_name_the_host(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("qmp.example.org")  # not 127.0.0.1
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    proc, port = _serve("--tls-cert", str(tmp_path / "server.pem"))
    try:
        with pytest.raises(ConnectionLost, match="certificate verify failed: IP address mismatch"):
            _plain_connect(f"tcp:127.0.0.1:{port}", ssl=client_context(ca, False), timeout=5)
    finally:
        _stop(proc)


def test_a_client_without_the_required_certificate_is_refused(ca: trustme.CA, tls_server: int) -> None:
    # With TLS 1.3 the server's refusal arrives after the client's handshake:
    # either way the session does not open.
    with pytest.raises(ConnectionLost, match="require a client certificate"):
        _plain_connect(f"tcp:127.0.0.1:{tls_server}", ssl=client_context(ca, False), timeout=5)

    async def main() -> None:
        await _plain_aconnect(f"tcp:127.0.0.1:{tls_server}", ssl=client_context(ca, False), timeout=5)

    with pytest.raises(ConnectionLost, match="require a client certificate"):
        asyncio.run(main())


def test_tls_to_a_plain_server_fails_with_the_reason(ca: trustme.CA) -> None:
    proc, port = _serve()
    try:
        with pytest.raises(ConnectionLost, match=r"TLS handshake with .* failed"):
            _plain_connect(f"tcp:127.0.0.1:{port}", ssl=client_context(ca, False), timeout=5)

        async def main() -> None:
            await _plain_aconnect(f"tcp:127.0.0.1:{port}", ssl=client_context(ca, False), timeout=5)

        with pytest.raises(ConnectionLost, match=r"TLS handshake with .* failed"):
            asyncio.run(main())
    finally:
        _stop(proc)


def test_a_silent_server_times_the_handshake_out(ca: trustme.CA) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:  # accepts (in the kernel), never speaks
        address = f"tcp:127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(TimeoutError, match=r"no TLS handshake with .* within 0\.3 s"):
            _plain_connect(address, ssl=client_context(ca, False), timeout=0.3)

        async def main() -> None:
            await _plain_aconnect(address, ssl=client_context(ca, False), timeout=0.3)

        with pytest.raises(TimeoutError, match=r"no connection or TLS handshake to .* within 0\.3 s"):
            asyncio.run(main())


def test_no_file_descriptors_over_tls(ca: trustme.CA, tls_server: int) -> None:
    with _plain_connect(f"tcp:127.0.0.1:{tls_server}", ssl=client_context(ca, True)) as s:
        r, w = os.pipe()
        try:
            with pytest.raises(StateError, match="file descriptors"):
                s.execute_raw("getfd", {"fdname": "x"}, fds=[r])
            assert len(s.query_block()) == 2  # the session goes on
        finally:
            for fd in (r, w):
                os.close(fd)


def test_bad_tls_arguments_are_named(ca: trustme.CA, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"ssl must be an ssl\.SSLContext, not bool"):
        _plain_connect("tcp:127.0.0.1:1", ssl=True)
    with pytest.raises(ValueError, match="Unix socket has no host name to check; set check_hostname = False"):
        _plain_connect(str(tmp_path / "qmp.sock"), ssl=client_context(ca, False))


def test_shell_over_tls(ca: trustme.CA, tls_server: int, tls_files: dict[str, Path], tmp_path: Path) -> None:
    client_pem = tmp_path / "client.pem"
    ca.issue_cert("client@example.org").private_key_and_cert_chain_pem.write_to_path(str(client_pem))
    shell = [sys.executable, "-m", "qobjects", "shell", f"tcp:127.0.0.1:{tls_server}"]
    done = subprocess.run(
        [*shell, "--tls-ca", str(tls_files["ca"]), "--tls-cert", str(client_pem)],
        input="query-block\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert '"ide1-cd0"' in done.stdout
    # Without a client certificate the server refuses: one line, no traceback.
    done = subprocess.run(
        [*shell, "--tls-ca", str(tls_files["ca"])],
        input="query-block\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("qobjects shell: "), done.stderr


@pytest.mark.parametrize(
    ("args", "status", "text"),
    [
        (["--tls-cert", "c.pem"], 2, "TLS needs --tls-ca FILE or --tls-system-ca"),
        (["--tls-system-ca", "--tls-key", "k.pem"], 2, "--tls-key goes with --tls-cert"),
        (["--tls-ca", "/no/such/ca.pem"], 1, "cannot load the TLS files"),
    ],
)
def test_shell_refuses_bad_tls_options(args: list[str], status: int, text: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "qobjects", "shell", "tcp:127.0.0.1:1", *args],
        input="", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == status, done.stderr
    assert text in done.stderr and "Traceback" not in done.stderr


# --- real QEMU, its monitor behind tls-creds -------------------------------------------------


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def qemu_tls(ca: trustme.CA, tmp_path: Path) -> Iterator[int]:
    """QEMU with two CD drives and its QMP monitor on TCP with TLS; yields the port."""
    if shutil.which(QEMU) is None:
        pytest.skip(f"{QEMU} is not installed (apt-get install qemu-system-x86; .ci/run installs it)")
    creds = tmp_path / "creds"
    creds.mkdir()
    cert = ca.issue_cert("127.0.0.1")
    ca.cert_pem.write_to_path(str(creds / "ca-cert.pem"))
    cert.cert_chain_pems[0].write_to_path(str(creds / "server-cert.pem"))
    cert.private_key_pem.write_to_path(str(creds / "server-key.pem"))
    for _ in range(5):  # another process may take the port first
        port = _free_port()
        proc = subprocess.Popen(
            [
                QEMU, "-machine", "pc,accel=tcg", "-nodefaults", "-display", "none", "-S",
                "-object", f"tls-creds-x509,id=tls0,dir={creds},endpoint=server,verify-peer=off",
                "-chardev", f"socket,id=mon,host=127.0.0.1,port={port},server=on,wait=off,tls-creds=tls0",
                "-mon", "chardev=mon,mode=control",
                "-drive", "if=none,id=cd0,media=cdrom", "-device", "ide-cd,drive=cd0,id=cdrom0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                time.sleep(0.05)
        if proc.poll() is None:
            break
    else:
        raise AssertionError(f"{QEMU} did not start: {proc.communicate()[1]!r}")
    try:
        yield port
    finally:
        proc.kill()
        proc.communicate(timeout=10)


def test_real_qemu_over_tls(ca: trustme.CA, qemu_tls: int) -> None:
    address = f"tcp:127.0.0.1:{qemu_tls}"
    with _plain_connect(address, ssl=client_context(ca, False)) as s:
        assert not s.explicit and s.greeting.version["qemu"]["major"] >= 7
        assert s.query_status().status == "prelaunch"
        (cd,) = [info.device for info in s.query_block()]
        moved = threading.Event()
        cd.tray_moved.connect(lambda owner, tray_open: moved.set())
        s.flush()
        for _ in range(50):  # each command answered at once, not after the next one
            assert s.query_status().running is False
        s.execute("blockdev-open-tray", id="cdrom0")
        assert moved.wait(5)

    async def main() -> str:
        async with await _plain_aconnect(address, ssl=client_context(ca, False), timeout=5) as a:
            statuses = await asyncio.gather(*(a.query_status() for _ in range(20)))
            assert {st.status for st in statuses} == {"prelaunch"}
            return str((await a.query_version()).qemu.major)

    assert int(asyncio.run(main())) >= 7
