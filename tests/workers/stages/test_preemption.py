"""The preemption poll asks Ray once per interval of rank 0's clock, not once per step."""

from s3gan_workers.stages.preemption import PreemptionPoll

from tests.fixtures.clock import ManualClock


def test_the_poll_is_due_once_per_interval_however_many_steps_run():
    clock = ManualClock(100.0)
    poll = PreemptionPoll(every_seconds=5.0, clock=clock)
    asked = []
    for _ in range(60):  # 60 steps of 0.5 s: 30 s
        clock.now += 0.5
        asked.append(poll.due())
    assert sum(asked) == 6
    assert asked.index(True) == 9  # first after 5 s, not at the first step


def test_a_slow_step_makes_the_next_poll_due_at_once_and_restarts_the_interval():
    clock = ManualClock(100.0)
    poll = PreemptionPoll(every_seconds=5.0, clock=clock)
    clock.now += 12.0
    assert poll.due()
    clock.now += 4.9
    assert not poll.due()
    clock.now += 0.1
    assert poll.due()
