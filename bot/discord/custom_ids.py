"""custom_id formats shared by the buttons (cogs) and the posts that carry them (delivery)."""

from __future__ import annotations

# Discord allows 100 characters; "pika:retry:" plus a 19-digit id is 30.
RETRY_TEMPLATE = r"pika:retry:(?P<job_id>[0-9]{1,19})"


def retry_custom_id(job_id: int) -> str:
    """The Retry button's custom_id for a job."""
    return f"pika:retry:{job_id}"


# Follow-up buttons under a finished video (API Glue: Extend +4s, Upscale).
FOLLOW_UP_TEMPLATE = r"pika:(?P<action>extend|upscale):(?P<job_id>[0-9]{1,19})"


def follow_up_custom_id(action: str, job_id: int) -> str:
    """A follow-up button's custom_id, e.g. ``pika:extend:12``."""
    return f"pika:{action}:{job_id}"


# Delete under a result (owner or moderator).
DELETE_TEMPLATE = r"pika:delete:(?P<job_id>[0-9]{1,19})"


def delete_custom_id(job_id: int) -> str:
    """The Delete button's custom_id for a job's result."""
    return f"pika:delete:{job_id}"
