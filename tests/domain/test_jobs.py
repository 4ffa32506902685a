"""The job state machine, checked over every pair of states."""

from __future__ import annotations

import itertools

import pytest

from bot.domain.jobs import TERMINAL_STATES, TRANSITIONS, JobState, can_transition, predecessors

FORWARD_ORDER = [
    JobState.QUEUED,
    JobState.SUBMITTING,
    JobState.RUNNING,
    JobState.COMPLETED,
    JobState.DELIVERED,
]

# The whole legal graph, written out by hand from docs/reliability.md so the table in bot/jobs.py is checked
# against an independent statement of it rather than against itself.
EXPECTED_EDGES = {
    (JobState.QUEUED, JobState.SUBMITTING),
    (JobState.QUEUED, JobState.FAILED),
    (JobState.QUEUED, JobState.CANCELLED),
    (JobState.QUEUED, JobState.EXPIRED),
    (JobState.SUBMITTING, JobState.QUEUED),
    (JobState.SUBMITTING, JobState.RUNNING),
    (JobState.SUBMITTING, JobState.FAILED),
    (JobState.SUBMITTING, JobState.MODERATED),
    (JobState.SUBMITTING, JobState.CANCELLED),
    (JobState.SUBMITTING, JobState.EXPIRED),
    (JobState.RUNNING, JobState.COMPLETED),
    (JobState.RUNNING, JobState.FAILED),
    (JobState.RUNNING, JobState.MODERATED),
    (JobState.RUNNING, JobState.CANCELLED),
    (JobState.RUNNING, JobState.EXPIRED),
    (JobState.COMPLETED, JobState.DELIVERED),
    (JobState.COMPLETED, JobState.FAILED),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(JobState, JobState)))
def test_every_pair_matches_the_design(current: JobState, target: JobState) -> None:
    """Each of the 81 (state, state) pairs is legal exactly when the design lists it."""
    assert can_transition(current, target) == ((current, target) in EXPECTED_EDGES)


def test_terminal_states_have_no_exit() -> None:
    """Nothing leaves delivered, failed, moderated, cancelled or expired."""
    assert {
        JobState.DELIVERED,
        JobState.FAILED,
        JobState.MODERATED,
        JobState.CANCELLED,
        JobState.EXPIRED,
    } == TERMINAL_STATES
    for state in TERMINAL_STATES:
        assert TRANSITIONS[state] == frozenset()
        assert state.terminal


def test_only_busy_upstream_moves_backwards() -> None:
    """The single backwards edge is submitting -> queued (upstream said "busy, try later")."""
    backwards = {
        (a, b)
        for a, b in EXPECTED_EDGES
        if a in FORWARD_ORDER and b in FORWARD_ORDER and FORWARD_ORDER.index(b) < FORWARD_ORDER.index(a)
    }
    assert backwards == {(JobState.SUBMITTING, JobState.QUEUED)}


def test_predecessors_inverts_the_table() -> None:
    """predecessors(t) is exactly the set of states with an edge into t."""
    for target in JobState:
        assert predecessors(target) == {a for a, b in EXPECTED_EDGES if b == target}


def test_every_state_reaches_a_terminal_state() -> None:
    """No state is a dead end short of a terminal one (nothing can be stranded)."""
    for start in JobState:
        seen = {start}
        frontier = [start]
        while frontier:
            state = frontier.pop()
            for nxt in TRANSITIONS[state]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert seen & TERMINAL_STATES or start.terminal


def test_slot_holding_states() -> None:
    """Only submitting and running jobs count against upstream slots."""
    assert {s for s in JobState if s.active_upstream} == {JobState.SUBMITTING, JobState.RUNNING}
