"""The progress bar's events/s: over a window, from the run's start, never from a chain's first (late) report."""

from __future__ import annotations

from indexer.cli import RateMeter


def test_rate__first_report_after_a_long_first_batch__is_the_real_average():
    meter = RateMeter(started=0.0)
    # The first report comes 9 s into the run with 99,000 events: 11k ev/s, not 99,000 / (a few ms).
    assert meter.rate(9.0, 99_000) == 11_000


def test_rate__is_measured_over_the_last_window():
    meter = RateMeter(started=0.0, window=10.0)
    events = 0
    for second in range(1, 31):
        events += 1_000 if second <= 20 else 5_000  # the pace changes at 20 s
        rate = meter.rate(float(second), events)
    assert 4_000 <= rate <= 5_000  # the last ten seconds, not the 2,333/s average since the start


def test_rate__no_progress__zero():
    meter = RateMeter(started=0.0)
    meter.rate(1.0, 500)
    assert meter.rate(30.0, 500) == 0
