"""Progress lines: the rate is the recent one, the time left follows it, and the line is redrawn
in place only on a terminal."""

from __future__ import annotations

import io

from s3gan.monitor.progress import ProgressLine, RateMeter, duration
from tests.fixtures.clock import ManualClock


def test_the_rate_is_the_recent_one_and_the_time_left_follows_it():
    clock = ManualClock()
    meter = RateMeter(1000, window=60, clock=clock)
    assert meter.rate is None and "rate pending" in meter.describe("steps")
    for second in range(1, 101):  # 10 steps/s for 100 s ...
        clock.now = second
        meter.update(10 * second)
    assert meter.rate == 10.0 and meter.seconds_left == 0.0
    meter.total = 2000
    for second in range(101, 201):  # ... then 2 steps/s: a since-start average would say 6
        clock.now = second
        meter.update(1000 + 2 * (second - 100))
    assert abs(meter.rate - 2.0) < 1e-9
    assert meter.seconds_left == (2000 - 1200) / 2.0
    assert meter.pace("img", scale=32) == "64.0 img/s · 6m40s left"
    assert meter.describe("steps") == "1200/2000 steps · 2.0 steps/s · 6m40s left"


def test_durations_read_at_a_glance():
    assert [duration(s) for s in (0.4, 12, 245, 3725)] == ["0s", "12s", "4m05s", "1h02m"]


def test_a_log_gets_plain_lines_at_most_every_interval_and_the_last_one():
    clock, out = ManualClock(), io.StringIO()
    line = ProgressLine("FID samples", 100, "images", every_seconds=10, stream=out, clock=clock)
    for done in range(10, 101, 10):
        clock.now += 4
        line.advance(done)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and len(lines) == 4  # at 12 s, 24 s, 36 s, and the end
    assert lines[-1] == "FID samples: 100/100 images · 2.5 images/s · 0s left"


def test_a_terminal_gets_one_line_redrawn_in_place():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    clock, out = ManualClock(), Terminal()
    line = ProgressLine("FID samples", 20, "images", every_seconds=0, stream=out, clock=clock)
    for done in (10, 20):
        clock.now += 1
        line.advance(done)
    assert out.getvalue().count("\r\x1b[2K") == 2 and out.getvalue().count("\n") == 1
