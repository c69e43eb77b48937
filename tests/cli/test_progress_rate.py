"""The progress bar tells the truth: events/s and ETA over a sliding window from the run's start, never from a
chain's first (late) report, and the line left on screen the run's true average. A fake clock drives it all."""

from __future__ import annotations

import io
import re

from rich.console import Console

from indexer.cli import RateMeter, _progress_display
from indexer.sync.chain_indexer import Progress


def test_rate__first_report_after_a_long_first_batch__is_the_real_average():
    meter = RateMeter(started=0.0)
    # The first report comes 9 s into the run with 99,000 events: 11k ev/s, not 99,000 / (a few ms).
    meter.add(9.0, events=99_000, blocks=1_000)
    assert meter.rate() == 11_000


def test_rate__is_measured_over_the_last_window():
    meter = RateMeter(started=0.0, window=10.0)
    events = 0
    for second in range(1, 31):
        events += 1_000 if second <= 20 else 5_000  # the pace changes at 20 s
        meter.add(float(second), events=events, blocks=second)
    assert 4_000 <= meter.rate() <= 5_000  # the last ten seconds, not the 2,333/s average since the start
    assert meter.average(30.0) == events / 30


def test_rate__no_progress__zero_and_no_eta():
    meter = RateMeter(started=0.0)
    meter.add(0.0, events=0, blocks=10)
    meter.add(1.0, events=500, blocks=10)
    meter.add(30.0, events=500, blocks=10)
    assert meter.rate() == 0
    assert meter.eta(100) is None


def test_eta__blocks_left_at_the_windows_block_rate():
    meter = RateMeter(started=0.0, window=10.0)
    meter.add(0.0, events=0, blocks=0)  # the chain's start report (its checkpoint)
    for second in range(1, 21):
        blocks = second * 10 if second <= 10 else 100 + (second - 10) * 50
        meter.add(float(second), events=second * 100, blocks=blocks)
    # The last ten seconds ran at 50 blocks/s (the first ten at 10): 1,000 blocks left take 20 s, not 40.
    assert meter.eta(1_000) == 20
    assert meter.eta(0) == 0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def final_line(chain: str, reports: list[tuple[float, Progress]]) -> str:
    """The line rich leaves on a terminal for ``chain`` after ``reports`` (seconds after the one before, report)."""
    clock = FakeClock()
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=200, color_system=None)
    with _progress_display(enabled=True, clock=clock, console=console) as update:
        assert update is not None
        for delay, progress in reports:
            clock.now += delay
            update(progress)
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "\n", screen.getvalue())
    return [line for line in plain.splitlines() if chain in line][-1]


def backfill(status: str, indexed: int, events: int) -> Progress:
    return Progress("op", 10, status, start_block=1, indexed_block=indexed, target_block=2_000,
                    head_block=2_000, events=events)  # fmt: skip


# 9 s at 11k ev/s, one report a second (200 blocks/s), then the last chunk applied 1 ms after the one before it:
# a rate over the last report alone would read ~1M ev/s, the bug this replaces read 898,996.
BURST = [
    (0.0, backfill("backfilling", 0, 0)),
    *((1.0, backfill("backfilling", second * 200, second * 11_000)) for second in range(1, 10)),
    (0.001, backfill("backfilling", 1_900, 100_999)),
]


def test_display__a_burst_of_reports__the_rate_over_the_window():
    line = final_line("op", BURST)
    rates = [int(r.replace(",", "")) for r in re.findall(r"([\d,]+) ev/s", line)]
    assert rates == [11_221], line  # 100,999 events over the 9.001 s window
    assert "ETA 0:00:00" in line, line  # 100 blocks left at 211 blocks/s: 0.47 s


def test_display__done__the_line_left_is_the_runs_true_average():
    line = final_line("op", [*BURST, (0.5, backfill("live", 2_000, 104_010))])
    # 104,010 events in 9.501 s from the run's start, and how long it took.
    assert "10,947 ev/s average" in line, line
    assert "in 0:00:10" in line, line


def test_display__eta_over_the_window():
    reports = [(0.0, Progress("base", 8453, "backfilling", 1, 0, 1_001, 1_001, 0))]
    reports += [
        (1.0, Progress("base", 8453, "backfilling", 1, s * 100, 1_001, 1_001, s * 1_000)) for s in range(1, 6)
    ]
    line = final_line("base", reports)
    # 500 of 1,000 blocks in 5 s at 100 blocks/s: 5 s left, 1,000 ev/s.
    assert "1,000 ev/s" in line, line
    assert "ETA 0:00:05" in line, line
