"""A stand-in for API Glue's Pika web API (``https://api.pikapikapika.io``, the ``/web/*`` routes).

Like its sibling ``useapi_sim`` it imports nothing from the rest of the project, so that a bug in the
engine cannot be mirrored (and hidden) here.  It answers as API Glue's guide and docs/apiglue-pika.md say:

* ``POST /web/generate``, ``POST /web/extend``, ``POST /web/upscale`` (JSON bodies, Bearer auth),
* ``GET /web/jobs/{id}`` (the job plus its ``videos[]``, per-video status and progress),
* ``GET /videos/<id>/<name>.mp4`` and ``GET /images/<id>/{poster,thumbnail}.jpg`` (the result media),
* webhooks: the ``GET /web/jobs/{id}`` JSON POSTed to ``webhookOverride`` when a video ends,
* ``/_sim/...``, a small unauthenticated control API for out-of-process tests.

Run it standalone with ``python -m sandbox.apiglue_sim --port 0``; it prints its base URL.

What the sources do not say, and what this package therefore chose (each marked UNCONFIRMED where it is done):

* Error bodies.  API Glue's error JSON was never published; every error here is
  ``{"error": "<message>", "code": <http status>}`` (400 messages name the offending field).
* Where ``ref`` is echoed: on the ``job`` object (``job.ref``, ``""`` when not given).
* The ``promptText`` limit (2000 characters), the camera value sets (pan left/right, tilt up/down,
  rotate cw/ccw, zoom in/out), the default aspect ratio (16:9) when ``options.aspectRatio`` is absent.
* Fields of a video that has not finished: ``duration``, ``seed``, ``resultUrl``, ``imageThumb`` and
  ``videoPoster`` are ``null`` until the video is ``finished``.
* The webhook body (the same JSON as ``GET /web/jobs/{id}``), and that it is only sent for ended videos
  unless the ``progress_callbacks`` knob is on.
* The generate answer's ``job.createdAt`` is ``{}`` exactly as in seed 004 (a Firestore server timestamp
  not yet resolved); ``SimConfig.submit_created_at_empty=False`` fills it in instead.

The package's modules, from the bottom up: ``constants`` and ``values``; ``records`` (what tests read)
and ``config`` (what tests set); ``errors`` and ``validation`` (a submit body); the simulator's layers
over ``state`` (``webhooks``, ``lifecycle``, ``operations``, ``server``, the ``submit``,
``jobs_routes`` and ``media`` routes, ``control``), put together in ``simulator``; ``runner`` serves it.
"""

from sandbox.apiglue_sim.config import SimConfig, SimFaults
from sandbox.apiglue_sim.constants import (
    ASPECT_RATIOS,
    BASE_DURATION,
    CAMERA_VALUES,
    DEFAULT_ACCOUNT_ID,
    DEFAULT_USER_ID,
    EXTEND_SECONDS,
    MAX_DURATION,
    MAX_EXTENDS,
    MAX_PROMPT,
    POSTER_JPEG,
    SAMPLE_VIDEO,
)
from sandbox.apiglue_sim.errors import ApiError, api_error
from sandbox.apiglue_sim.records import (
    ENDED,
    EXECUTING,
    ImageFetch,
    RecordedCallback,
    RecordedRequest,
    RequestType,
    SimJob,
    VideoStatus,
)
from sandbox.apiglue_sim.runner import RunningGlueSimulator, main, start_simulator
from sandbox.apiglue_sim.simulator import ApiGlueSimulator
from sandbox.apiglue_sim.validation import SubmitBody, parse_options, parse_submit
from sandbox.apiglue_sim.values import video_filename

__all__ = [
    "ASPECT_RATIOS",
    "BASE_DURATION",
    "CAMERA_VALUES",
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_USER_ID",
    "ENDED",
    "EXECUTING",
    "EXTEND_SECONDS",
    "MAX_DURATION",
    "MAX_EXTENDS",
    "MAX_PROMPT",
    "POSTER_JPEG",
    "SAMPLE_VIDEO",
    "ApiError",
    "ApiGlueSimulator",
    "ImageFetch",
    "RecordedCallback",
    "RecordedRequest",
    "RequestType",
    "RunningGlueSimulator",
    "SimConfig",
    "SimFaults",
    "SimJob",
    "SubmitBody",
    "VideoStatus",
    "api_error",
    "main",
    "parse_options",
    "parse_submit",
    "start_simulator",
    "video_filename",
]
