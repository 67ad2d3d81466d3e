"""``qobjects generate``: a user schema as a package that is imported, used and type-checked.

The package is written outside the checkout and used from a fresh process,
locally and across a real socket; mypy and basedpyright check user code
against it with no configuration at all.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from qobjects.cli import main
from qobjects.generate import write_package

BIN = Path(sys.executable).parent

LIGHTS = """\
##
# @Color:
#
# A lamp's color.
#
# @red: red
# @green: green
##
{ 'enum': 'Color', 'data': [ 'red', 'green' ] }
{ 'handle': 'Lamp', 'data': 'str' }
{ 'include': 'parts/info.json' }
{ 'command': 'query-lamps', 'returns': [ 'LampInfo' ] }
{ 'command': 'set-color', 'data': { 'lamp': 'Lamp', 'color': 'Color' } }
{ 'signal': 'RECOLORED', 'owner': 'Lamp', 'data': { 'color': 'Color' } }
{ 'enum': 'Mode', 'data': [ 'split', 'value', 'name', 'steady' ] }
{ 'command': 'set-mode', 'data': { 'lamp': 'Lamp', 'mode': 'Mode' } }
"""
INFO = "{ 'struct': 'LampInfo', 'data': { 'lamp': 'Lamp', 'on': 'bool', 'color': 'Color' } }\n"

USE = """\
import asyncio
import os
import sys
import tempfile

import qobjects
from lights import Color, Lamp, LampInfo, aconnect, namespace

lamps: dict[str, dict[str, Color]] = {"desk": {"color": Color.red}}
Lamp.finder(lamps.get)
heard: list[Color] = []


def on_recolor(owner: Lamp, color: Color) -> None:
    heard.append(color)


async def main() -> None:
    server = qobjects.Server(namespace=namespace)

    @server.command("query-lamps")
    def query_lamps() -> list[LampInfo]:
        return [LampInfo(lamp=Lamp.find(name), on=True, color=v["color"]) for name, v in lamps.items()]

    @server.command("set-color")
    def set_color(lamp: Lamp, color: Color) -> None:
        lamps[lamp.value]["color"] = color
        lamp.recolored.emit(color=color)

    path = os.path.join(tempfile.mkdtemp(), "lights.sock")
    await server.start_unix(path)
    session = await aconnect("unix:" + path)
    infos = await session.query_lamps()
    lamp = infos[0].lamp
    lamp.recolored.connect(on_recolor)
    await session.flush()  # the connect is acknowledged
    await session.set_color(lamp=lamp, color="green")
    for _ in range(100):
        if heard:
            break
        await asyncio.sleep(0.01)
    print(lamp.value, lamps["desk"]["color"].value, [c.value for c in heard], isinstance(infos[0], LampInfo))
    await session.close()
    await server.close()


asyncio.run(main())
sys.exit(0)
"""

BAD = """\
from lights import Color, Lamp, LampInfo, connect


def wrong(owner: Lamp, color: int) -> None: ...


lamp = Lamp.find("desk")
lamp.recolored.connect(wrong)  # E: wrong slot
lamp.recolored.emit(color="blue")  # E: not a Color
lamp.recolord.emit(color="red")  # E: misspelt signal
session = connect("unix:x")
session.set_colour(lamp=lamp, color="red")  # E: misspelt command
session.set_color(lamp=7, color=Color.red)  # E: an int is neither a Lamp nor its value
info: LampInfo = session.query_lamps()  # E: a list is not a LampInfo
"""

_MYPY = re.compile(r"^[^:]+:(?P<line>\d+): error:")


@pytest.fixture
def package(tmp_path: Path) -> Path:
    src = tmp_path / "schemas"
    (src / "parts").mkdir(parents=True)
    (src / "lights.json").write_text(LIGHTS, encoding="utf-8")
    (src / "parts" / "info.json").write_text(INFO, encoding="utf-8")
    out = tmp_path / "site"
    assert main(["generate", str(src / "lights.json"), "-o", str(out)]) == 0
    return out


def _env(out: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"MYPYPATH", "PYTHONPATH"}}
    env["PYTHONPATH"] = str(out)
    return env


def test_layout_and_determinism(package: Path, tmp_path: Path) -> None:
    pkg = package / "lights"
    files = sorted(str(p.relative_to(pkg)) for p in pkg.rglob("*") if p.is_file())
    assert files == [
        "__init__.py", "__init__.pyi", "py.typed", "schema/lights.json", "schema/parts/info.json"
    ]
    assert (pkg / "schema" / "parts" / "info.json").read_text(encoding="utf-8") == INFO
    again = write_package(tmp_path / "schemas" / "lights.json", tmp_path / "again")
    for name in ("__init__.py", "__init__.pyi"):
        assert (again / name).read_text(encoding="utf-8") == (pkg / name).read_text(encoding="utf-8")


def test_import_and_use_in_a_fresh_process(package: Path, tmp_path: Path) -> None:
    (tmp_path / "use.py").write_text(USE, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "use.py"], cwd=tmp_path, env=_env(package),
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["desk", "green", "['green']", "True"]


def _check(package: Path, tmp_path: Path, text: str) -> tuple[set[int], set[int], str]:
    user = tmp_path / "user"
    user.mkdir()
    (user / "prog.py").write_text(text, encoding="utf-8")
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(user / ".cache"), "prog.py"],
        cwd=user, env=_env(package), capture_output=True, text=True, timeout=300, check=False,
    )
    mypy_lines = {int(m["line"]) for m in map(_MYPY.match, mypy.stdout.splitlines()) if m}
    pyright = subprocess.run(
        [str(BIN / "basedpyright"), "--outputjson", "--pythonpath", sys.executable, "prog.py"],
        cwd=user, env=_env(package), capture_output=True, text=True, timeout=300, check=False,
    )
    diags = [d for d in json.loads(pyright.stdout)["generalDiagnostics"] if d["severity"] == "error"]
    pyright_lines = {d["range"]["start"]["line"] + 1 for d in diags}
    return mypy_lines, pyright_lines, mypy.stdout + json.dumps(diags, indent=1)


def test_correct_use_type_checks(package: Path, tmp_path: Path) -> None:
    mypy_lines, pyright_lines, output = _check(package, tmp_path, USE)
    assert mypy_lines == set() and pyright_lines == set(), output


def test_the_package_itself_type_checks(package: Path) -> None:
    """``generate -o src`` puts the package in the user's own tree, where both
    checkers read its stub as project code: members named like str methods
    or Enum's properties (Mode.split, Mode.value) and the typed overrides of
    each signal pass both."""
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(package / ".cache"), "-p", "lights"],
        cwd=package, env=_env(package), capture_output=True, text=True, timeout=300, check=False,
    )
    assert mypy.returncode == 0, mypy.stdout
    pyright = subprocess.run(
        [str(BIN / "basedpyright"), "--outputjson", "--pythonpath", sys.executable, "lights"],
        cwd=package, env=_env(package), capture_output=True, text=True, timeout=300, check=False,
    )
    # Nor warnings: its files ask for pyright's basic rules (generated code).
    diags = [d for d in json.loads(pyright.stdout)["generalDiagnostics"] if d["severity"] != "information"]
    assert diags == [], json.dumps(diags, indent=1)
    assert "split = 'split'  # type: ignore[assignment]  # pyright: ignore" in (
        package / "lights" / "__init__.pyi"
    ).read_text(encoding="utf-8")


def test_wrong_use_is_flagged_by_both_checkers(package: Path, tmp_path: Path) -> None:
    expected = {i for i, line in enumerate(BAD.splitlines(), 1) if "# E: " in line}
    mypy_lines, pyright_lines, output = _check(package, tmp_path, BAD)
    assert mypy_lines == expected, output
    assert pyright_lines == expected, output


def test_bad_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", str(tmp_path / "missing.json"), "-o", str(tmp_path)]) == 1
    assert "can't read schema file" in capsys.readouterr().err
    (tmp_path / "ok.json").write_text(INFO.replace("'Lamp'", "'str'").replace("'Color'", "'str'"))
    with pytest.raises(SystemExit, match="is not a Python identifier"):
        main(["generate", str(tmp_path / "ok.json"), "-o", str(tmp_path), "--name", "no-dash"])
    outside = tmp_path / "a"
    outside.mkdir()
    (outside / "s.json").write_text("{ 'include': '../ok.json' }\n")
    with pytest.raises(SystemExit, match="outside the directory"):
        main(["generate", str(outside / "s.json"), "-o", str(tmp_path / "o")])
    with pytest.raises(SystemExit, match=r"give SCHEMA or --from ADDRESS \(one of them\)"):
        main(["generate", "-o", str(tmp_path / "o")])
    with pytest.raises(SystemExit, match=r"give SCHEMA or --from ADDRESS"):
        main(["generate", str(tmp_path / "ok.json"), "--from", "unix:/nowhere", "-o", str(tmp_path / "o")])
    assert main(["generate", "--from", f"unix:{tmp_path / 'nowhere.sock'}", "-o", str(tmp_path / "o")]) == 1
    assert "cannot connect to unix:" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing written
