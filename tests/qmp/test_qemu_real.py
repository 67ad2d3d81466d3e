"""Against real QEMU: the session speaks the server's own schema, with the QEMU overlay."""

from __future__ import annotations

import ast
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import qobjects
from qobjects.errors import WrongType
from qobjects.qmp.introspect import ServerNamespace, server_namespace

QEMU = "qemu-system-x86_64"
SHARED_SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "qemu-qapi" / "schema" / "qapi-schema.json"

pytestmark = pytest.mark.skipif(
    shutil.which(QEMU) is None,
    reason=f"{QEMU} is not installed (Debian: apt-get install qemu-system-x86)",
)

def _plain_connect(address: Any, **options: Any) -> Any:
    """A session of the server's own schema: its commands are not in the default
    schema's stubs (``qobjects stubgen --from`` writes stubs for them)."""
    return qobjects.connect(address, **options)



def _accepts(path: Path) -> bool:
    """Whether a Unix socket accepts a connection (closed again at once)."""
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


class Qemu:
    """A QEMU process (no KVM: TCG) with a QMP socket, two unnamed cdroms and a USB tablet."""

    def __init__(self, tmp: Path) -> None:
        self.path = tmp / "qmp.sock"
        self.tmp = tmp
        self.proc = subprocess.Popen(
            [
                QEMU, "-S", "-machine", "pc", "-accel", "tcg", "-nodefaults", "-display", "none",
                "-qmp", f"unix:{self.path},server=on,wait=off",
                "-device", "ide-cd,id=cdA", "-device", "ide-cd,id=cdB",
                "-device", "qemu-xhci,id=xhci", "-device", "usb-tablet,id=tablet0,bus=xhci.0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        # The socket file exists once bound, a moment before QEMU listens on it.
        while not _accepts(self.path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                self.stop()
                pytest.fail(f"QEMU did not start: {err}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()


@pytest.fixture
def qemu(tmp_path: Path) -> Iterator[Qemu]:
    q = Qemu(tmp_path)
    try:
        yield q
    finally:
        q.stop()


def open_session(qemu: Qemu) -> Any:
    """A session on QEMU's own schema (read with one connection, used by the next)."""
    with qobjects.connect(qemu.path, namespace=qobjects.default_namespace()) as probe:
        info = probe.execute_raw("query-qmp-schema")
    ns = server_namespace(info)
    return qobjects.connect(qemu.path, namespace=ns)


class Recorder:
    """Collects slot calls, and waits for them (slots run in the session's thread)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.cond = threading.Condition()

    def add(self, *call: Any) -> None:
        with self.cond:
            self.calls.append(call)
            self.cond.notify_all()

    def wait_for(self, n: int, timeout: float = 10.0) -> list[tuple[Any, ...]]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.calls) >= n, timeout), self.calls
            return list(self.calls)


def test_query_status_and_version_skew(qemu: Qemu) -> None:
    with open_session(qemu) as s:
        ns: ServerNamespace = s.namespace
        assert isinstance(ns, ServerNamespace)
        status = s.query_status()
        assert type(status).__name__ == "QueryStatusReturn"
        assert status.running is False and status.status == "prelaunch"
        # A command QEMU 7.2 has and the newer schema in ../shared lacks: it is the server's schema.
        if SHARED_SCHEMA.exists():
            shared = {c.name for c in qobjects.load_schema(SHARED_SCHEMA).commands()}
            assert "x-query-opcount" not in shared and "query-audiodevs" in shared
        opcount = s.x_query_opcount()
        assert isinstance(opcount.human_readable_text, str)
        with pytest.raises(AttributeError, match="query_audiodevs"):
            s.query_audiodevs  # noqa: B018 (newer QEMUs only)
        # Replies decode with this version's types (the newer schema's 'qom-type' is absent in 7.2).
        cpus = s.query_cpus_fast()
        assert cpus[0].cpu_index == 0 and cpus[0].target == "x86_64"


def test_unnamed_cdroms_are_two_blockdevs_and_eject_takes_id(qemu: Qemu) -> None:
    with open_session(qemu) as s:
        ns = s.namespace
        blocks = s.query_block()
        assert [b.device.value for b in blocks] == ["cdA", "cdB"]  # backend "" -> qdev id
        cd_a, cd_b = (b.device for b in blocks)
        assert isinstance(cd_a, ns.Blockdev) and cd_a != cd_b
        assert s.eject(id=cd_b) is None  # the handle...
        assert s.blockdev_close_tray(id="cdB") is None  # ...or its plain value
        with pytest.raises(WrongType, match="Blockdev or str"):
            s.eject(id=3)
        with pytest.raises(qobjects.QMPError, match="nope"):
            s.eject(id="nope")


def test_stubgen_from_qemu_then_mypy(qemu: Qemu, tmp_path: Path) -> None:
    from tests.typing.mypy_run import run_mypy

    out = tmp_path / "stubs"
    subprocess.run(
        [sys.executable, "-m", "qobjects", "stubgen", "--from", f"unix:{qemu.path}", "-o", str(out),
         "--module", "qemu_schema"],
        check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )  # fmt: skip
    stub = (out / "qemu_schema.pyi").read_text(encoding="utf-8")
    assert "class QueryStatusReturn(_Struct):" in stub and "def x_query_opcount(" in stub
    program = '''\
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qemu_schema import Blockdev, Job, connect
else:
    from qobjects import connect


def main(address: str) -> None:
    with connect(address) as s:
        status = s.query_status()
        running: bool = status.running
        print(running, status.status == "running")
        for b in s.query_block():
            dev: Blockdev = b.device
            dev.tray_moved.connect(lambda owner, tray_open: print(owner.value, tray_open))
        s.eject(id="cdA")
        for info in s.query_jobs():
            job: Job = info.id
            s.job_cancel(id=job)
        s.eject(id=3)  # E: Argument "id" to "eject" of "Session" has incompatible type "int"
        s.query_audiodevs()  # E: "Session" has no attribute "query_audiodevs"
        status.running = "yes"  # E: Incompatible types in assignment
'''
    work = tmp_path / "check"
    work.mkdir()
    (work / "qemu_schema.pyi").write_text(stub, encoding="utf-8")
    report = run_mypy(work, {"use.py": program}, mypy_path=[work])
    expected = {}
    for i, line in enumerate(program.splitlines(), 1):
        if "# E: " in line:
            expected[("use.py", i)] = line.split("# E: ", 1)[1]
    errors = report.errors  # the stub itself passes mypy --strict
    assert set(errors) == set(expected), report.output
    for key, fragment in expected.items():
        assert any(fragment in msg for msg in errors[key]), (key, errors[key])


def test_generate_from_qemu_is_a_typed_package_of_its_schema(qemu: Qemu, tmp_path: Path) -> None:
    from tests.typing.mypy_run import run_mypy

    out = tmp_path / "pkgs"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    subprocess.run(
        [sys.executable, "-m", "qobjects", "generate", "--from", f"unix:{qemu.path}", "-o", str(out),
         "--name", "qemu72"],
        check=True, capture_output=True, env=env,
    )  # fmt: skip
    pkg = out / "qemu72"
    assert {p.name for p in pkg.iterdir()} == {"__init__.py", "__init__.pyi", "py.typed", "schema"}
    program = f'''\
import threading

from qemu72 import Blockdev, QueryStatusReturn, connect

heard: list[tuple[str, bool]] = []
moved = threading.Event()


def on_tray(owner: Blockdev, tray_open: bool) -> None:
    heard.append((owner.value, tray_open))
    moved.set()


with connect({str(qemu.path)!r}) as s:
    status: QueryStatusReturn = s.query_status()
    assert status.status == "prelaunch"
    cd_a, cd_b = (b.device for b in s.query_block())
    assert isinstance(cd_b, Blockdev) and cd_b.value == "cdB"
    cd_b.tray_moved.connect(on_tray)
    s.eject(id="cdA")  # cdA's tray: not heard
    s.eject(id=cd_b)
    assert moved.wait(5)
print(heard)
'''
    (tmp_path / "use.py").write_text(program, encoding="utf-8")
    env["PYTHONPATH"] = f"{out}{os.pathsep}{env['PYTHONPATH']}"
    use = [sys.executable, str(tmp_path / "use.py")]
    run = subprocess.run(use, capture_output=True, text=True, timeout=60, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[('cdB', True)]"
    # Every class the stub declares under a public name is there at run time
    # (a type the namespace does not export is declared `_Name`, type-check only).
    stub = ast.parse((pkg / "__init__.pyi").read_text(encoding="utf-8"))
    declared = sorted(n.name for n in stub.body if isinstance(n, ast.ClassDef) and not n.name.startswith("_"))
    assert "QueryStatusReturn" in declared and "QueryStatusArg" not in declared
    probe = f"import qemu72; print([n for n in {declared!r} if not hasattr(qemu72, n)])"
    missing = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env
    )
    assert missing.stdout.strip() == "[]", missing.stderr
    bad = program + 's.eject(id=3)  # E: Argument "id" to "eject" of "Session" has incompatible type "int"\n'
    (tmp_path / "check").mkdir()
    report = run_mypy(tmp_path / "check", {"use.py": bad}, mypy_path=[out])
    assert set(report.errors) == {("use.py", bad.count("\n"))}, report.output


def test_connect_reads_the_servers_schema(qemu: Qemu) -> None:
    with _plain_connect(qemu.path) as s:
        assert not s.explicit
        assert isinstance(s.namespace, ServerNamespace) and not s.namespace.problems
        assert s.query_status().status == "prelaunch"
    # namespace= still decides.
    with qobjects.connect(qemu.path, namespace=qobjects.default_namespace()) as s:
        assert s.namespace is qobjects.default_namespace()


def test_connecting_builds_no_classes(qemu: Qemu) -> None:
    # Classes of the server's schema are made when first used: opening a
    # session (its checks of class-level slots included) makes none.
    with _plain_connect(qemu.path) as s:
        ns: Any = s.namespace
        assert type(ns).__name__ == "ServerNamespace"
        assert (ns.handles._made, ns.types._made, ns.commands._made) == ({}, {}, {})
        assert ns.commands._keys is None  # nor lists every command
        s.query_status()
        assert list(ns.commands._made) == ["query-status"]


def test_tray_moved_per_owner_on_unnamed_cdroms(qemu: Qemu) -> None:
    with _plain_connect(qemu.path) as s:
        cd_a, cd_b = (b.device for b in s.query_block())
        heard_a, heard_b = Recorder(), Recorder()
        cd_a.tray_moved.connect(lambda owner, tray_open: heard_a.add(owner, tray_open))
        cd_b.tray_moved.connect(lambda owner, tray_open: heard_b.add(owner, tray_open))
        s.eject(id=cd_b)  # opens cdB's tray: {"device": "", "id": "cdB", "tray-open": true}
        s.blockdev_close_tray(id="cdB")
        assert heard_b.wait_for(2) == [(cd_b, True), (cd_b, False)]
        s.blockdev_open_tray(id=cd_a)
        assert heard_a.wait_for(1) == [(cd_a, True)]
        assert len(heard_b.calls) == 2  # cdA's tray said nothing to cdB's slot


def test_job_status_change_in_order(qemu: Qemu) -> None:
    image = qemu.tmp / "disk.qcow2"
    image.write_bytes(b"")
    with _plain_connect(qemu.path) as s:
        ns: Any = s.namespace
        job = s.get(ns.Job, "create0")
        other = s.get(ns.Job, "other")
        heard, elsewhere = Recorder(), Recorder()
        job.status_change.connect(lambda owner, status: heard.add(owner, status))
        other.status_change.connect(lambda owner, status: elsewhere.add(owner, status))
        s.blockdev_add(driver="file", node_name="file0", filename=str(image))
        options = ns.BlockdevCreateOptions(driver="qcow2", file="file0", size=1 << 20)
        s.blockdev_create(job_id=job, options=options)
        calls = heard.wait_for(5)
        statuses = [status for _, status in calls[:5]]
        assert statuses == ["created", "running", "waiting", "pending", "concluded"]
        assert all(owner is job for owner, _ in calls)
        [info] = s.query_jobs()
        assert info.id is job and info.status == "concluded"  # query_jobs()[i].id is a Job
        s.job_dismiss(id=info.id)
        assert heard.wait_for(6)[5] == (job, "null")
        assert elsewhere.calls == []


def test_device_deleted(qemu: Qemu) -> None:
    with _plain_connect(qemu.path) as s:
        ns: Any = s.namespace
        tablet = s.get(ns.Device, "tablet0")
        heard = Recorder()
        tablet.deleted.connect(lambda owner: heard.add(owner))
        s.device_del(id=tablet)
        assert heard.wait_for(1) == [(tablet,)]


def test_machine_resume_and_stop(qemu: Qemu) -> None:
    with _plain_connect(qemu.path) as s:
        ns: Any = s.namespace
        machine = s.get(ns.Machine, "")
        heard = Recorder()
        machine.resume.connect(lambda owner: heard.add("RESUME"))
        machine.stop.connect(lambda owner: heard.add("STOP"))
        s.stop()  # in prelaunch: emits nothing
        s.cont()
        s.stop()
        assert heard.wait_for(2) == [("RESUME",), ("STOP",)]
        assert s.query_status().status == "paused"
