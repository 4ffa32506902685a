"""A stand-in for the useapi.net Pika v1 API (decommissioned upstream), answering as its documents say.

The simulator is deliberately independent of the rest of the project: it imports nothing from ``bot``
so that a bug in the engine cannot be mirrored (and hidden) here.  It serves:

* ``POST /v1/pika/{create,animate,encrypt_text,encrypt_image,button}`` (multipart only),
* ``GET /v1/pika/jobs/?jobid=``, ``GET /v1/pika/jobs``, ``GET /v1/pika/jobs/cancel/?jobid=``,
* ``GET /v1/pika/account``, ``GET|POST|DELETE /v1/pika/account/<channel>``,
* ``GET /attachments/<channel>/<message>/<file>`` (the Discord-CDN-like result video),
* ``/_sim/...``, a small unauthenticated control API for out-of-process tests.

Run it standalone with ``python -m sandbox.useapi_sim --port 0``; it prints its base URL.

The package's modules, from the bottom up: ``constants`` and ``values``; ``records`` (what tests read)
and ``config`` (what tests set); ``errors`` and ``validation`` (each verb's form); the simulator's
layers over ``state`` (``callbacks``, ``attachments``, ``lifecycle``, ``operations``, ``server``, the
``submit``, ``jobs_routes`` and ``accounts`` routes, ``control``), put together in ``simulator``;
``runner`` serves it.
"""

from sandbox.useapi_sim.config import SimAccount, SimConfig, SimFaults
from sandbox.useapi_sim.constants import DEFAULT_CHANNEL, DEFAULT_DISCORD, PIKA_USER, SAMPLE_VIDEO
from sandbox.useapi_sim.errors import ApiError, api_error
from sandbox.useapi_sim.records import (
    Attachment,
    FileInfo,
    JobStatus,
    RecordedCallback,
    RecordedFile,
    RecordedRequest,
    SimJob,
    Verb,
)
from sandbox.useapi_sim.runner import RunningSimulator, main, start_simulator
from sandbox.useapi_sim.simulator import UseapiSimulator
from sandbox.useapi_sim.validation import SPECS, VerbSpec

__all__ = [
    "DEFAULT_CHANNEL",
    "DEFAULT_DISCORD",
    "PIKA_USER",
    "SAMPLE_VIDEO",
    "SPECS",
    "ApiError",
    "Attachment",
    "FileInfo",
    "JobStatus",
    "RecordedCallback",
    "RecordedFile",
    "RecordedRequest",
    "RunningSimulator",
    "SimAccount",
    "SimConfig",
    "SimFaults",
    "SimJob",
    "UseapiSimulator",
    "Verb",
    "VerbSpec",
    "api_error",
    "main",
    "start_simulator",
]
