"""The fair queue, as SQL shared by every query that orders waiting jobs."""

from __future__ import annotations

# Round-robin by owner: each owner's n-th waiting job gets turn n and turns are served in order;
# within a turn, the owner served longest ago goes first. So a member with a batch of 20 cannot
# hold back someone who asked once, even right after one of the batch finished.
FAIR_QUEUE = """
    WITH q AS (
        SELECT j.id, j.created_at, j.next_attempt_at,
               ROW_NUMBER() OVER (PARTITION BY j.owner_id ORDER BY j.created_at, j.id) AS turn,
               COALESCE((SELECT MAX(s.submitted_at) FROM jobs s WHERE s.owner_id = j.owner_id), 0)
                   AS last_served
        FROM jobs j WHERE j.state = 'queued'
    )
"""
FAIR_ORDER = "q.turn, q.last_served, q.created_at, q.id"
