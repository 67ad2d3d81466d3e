"""The wire fuzzer (see tests/robust/fuzz.py): the server answers as the spec says."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.robust.fuzz import run_fuzz
from tests.robust.support import sized

SEED = 20_240_601
MESSAGES = sized(30_000, 1_000_000)


def test_fuzz_seeded(tmp_path: Path) -> None:
    result = run_fuzz(tmp_path / "fuzz.sock", SEED, MESSAGES)
    assert result.messages >= MESSAGES >= 10_000
    assert result.replies >= result.messages
    # Every kind of input was exercised, and signals flowed during the run.
    for kind in ("valid command", "connect", "disconnect", "forged handle", "truncated", "garbage", "huge"):
        assert any(k.startswith(kind) for k in result.kinds), kind
    assert result.kinds["other's id"] > 0 and result.kinds["command in negotiation mode"] > 0
    for kind in (
        "non-finite number",
        "user_data over max_user_data",
        "connect over max_connections",
        "framing: value across lines",
        "framing: duplicate key",
        "framing: over-long integer",
    ):
        assert result.kinds[kind] > 0, kind
    assert sum(result.bystander_signals.values()) > 100


@settings(
    max_examples=sized(15, 100),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1))
def test_fuzz_many_seeds(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "seeds.sock"
    result = run_fuzz(path, seed, 200)
    assert result.messages >= 200
