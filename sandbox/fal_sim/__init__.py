"""A stand-in for fal.ai's queue API (``https://queue.fal.run``) serving the Pika v2.2, v2.1 and v2 turbo models.

Like its siblings ``useapi_sim`` and ``apiglue_sim`` it imports nothing from the rest of the project
(only ``sandbox.serving``), so that a bug in the bot cannot be mirrored (and hidden) here.  It
answers as docs/fal-pika.md sections 1-3 say:

* ``POST /{model_id}[?fal_webhook=…&fal_max_queue_length=…]`` for ``fal-ai/pika/v2.2/text-to-video``,
  ``…/image-to-video``, ``…/pikascenes`` and ``…/pikaframes``, ``fal-ai/pika/v2.1/text-to-video`` and
  ``…/image-to-video``, ``fal-ai/pika/v2/turbo/text-to-video`` and ``…/image-to-video``
  (``Authorization: Key <id>:<secret>``), validating the body against each model's input schema
  (422 ``{"detail": [ErrorObject, …]}``);
* ``GET /fal-ai/pika/requests/{id}/status[?logs=1]``, ``GET /fal-ai/pika/requests/{id}`` (the result)
  and ``PUT /fal-ai/pika/requests/{id}/cancel`` (the owner/app form the submit answer hands out);
* a per-key concurrency limit: requests over it wait ``IN_QUEUE`` with an honest ``queue_position``;
  ``runner_*`` failures are retried inside the queue (up to ``max_attempts``), as fal does;
* fal storage: ``POST /storage/auth/token?storage_type=fal-cdn-v3`` then ``POST /files/upload`` (raw
  bytes), and ``GET /files/…`` for uploads and for the result videos (a real small MP4);
* webhooks: the section 2.2 body, serialized Python-style, signed with Ed25519 as section 2.3 says, the
  public key served at ``GET /.well-known/jwks.json``; retried on non-2xx or connection errors;
* ``/_sim/...``, a small unauthenticated control API for out-of-process tests.

The simulator is the REST host, the queue host and the CDN host at once: point all three base URLs
of a client at ``RunningFalSimulator.base_url``.  Run it standalone with
``python -m sandbox.fal_sim --port 0``; it prints its base URL.

The default signing key is the contract's test-vector key (seed ``sha256("pika-bot fal webhook test
vector v1")``), so the served JWKS equals the contract's test JWKS.

What the sources do not say, and what this package therefore chose (each marked UNCONFIRMED where it is done):

* Error texts nobody published: unknown model and unknown request id answer 404
  ``{"detail": "Not Found"}`` / ``{"detail": "Request not found"}``; a missing Authorization header
  is 401 ``{"detail": "Missing authorization header"}``; a malformed one is 401 with the contract's
  "Invalid Key Authorization header format…" text; ``fal_max_queue_length`` overflow is 429
  ``{"detail": "Queue is full"}``; an unknown/expired storage token is 401.
* ``fal_max_queue_length=N`` rejects when N or more requests already wait on the same endpoint.
* Input validation happens at submit (``validate_at_submit``; off, the job is accepted and fails with
  the same 422 at run time).  Pydantic-style ``type``/``msg`` strings (``missing``, ``string_type``,
  ``int_type``, ``enum`` for every enum field, ``list_type``, ``too_short``/``too_long``,
  ``value_error`` for the cross-field pikaframes rules); every ErrorObject carries
  ``url = https://docs.fal.ai/errors/#<type>``.  ``duration`` strings ("5") are refused unless
  ``accept_string_duration``; v2.1 and v2 turbo take any integer ``duration`` (their schemas say
  only "integer").  pikascenes takes 1-5 images (third parties), pikaframes 2-5; a pikaframes
  transition ``duration`` must be an int from 1 to 25, and all of them 25 at most.  A field the
  model's schema does not declare (in a transition too) is refused ``extra_forbidden`` (fal's schemas
  do not say whether extras are dropped or refused; refusing catches a client that sends an option
  the model would ignore; ``refuse_unknown_fields=False`` drops them).
* A status answer sends ``"logs": null`` unless ``logs=1``/``logs=true`` (IN_PROGRESS and COMPLETED).
* A failed job's status shows ``error`` (the detail text, or the first ErrorObject's ``msg``) and
  ``error_type`` (the request error code or the first ErrorObject's ``type``); with
  ``model_errors_on_status=False`` model (422-style) errors only show when the result is fetched.
* Only the owner/app URLs are served: status/result/cancel at the sub-path form
  (``/fal-ai/pika/v2.2/…/requests/{id}``) answer 404.
* The result before completion is 400 ``{"detail": "Request is still in progress"}``.
* Cancel: a queued request is removed and ends COMPLETED with ``error_type`` ``client_cancelled``;
  its result is 499 ``{"detail": "Request cancelled by client", "error_type": "client_cancelled"}``
  and its webhook is an ERROR.  A running request stops at its next step the same way, unless
  ``cancel_running_finishes`` (then the signal is ignored and the job finishes normally).  An
  accepted cancel answers 202 ``{"status": "CANCELLATION_REQUESTED"}``, or 200 ``{"status": "OK"}``
  with ``cancel_accepted_status = 200`` (fal documents both bodies; its client accepts any 2xx).
* The queue retries ``runner_*`` failures only (not ``request_timeout``/``startup_timeout``) and
  puts the request back at the end of the queue; each retry gets a new ``gateway_request_id``.
* Webhooks: the ``X-Fal-Webhook-Request-Id`` header carries ``request_id``; each attempt is signed
  afresh with the current time; an ERROR body has ``error = "Invalid status code: <http status>"`` and
  the error body as ``payload``.  Webhooks to non-loopback hosts are not sent unless
  ``allow_external_webhooks`` (recorded with an error instead).
* Request error detail texts (``"Runner server error"`` and the like) and model error ``msg`` texts
  other than the contract's content-policy one.
* The storage token is ``token_type`` ``Bearer`` and ``expires_at`` an ISO-8601 UTC time; uploaded
  files live at ``{base}/files/u/<random>_<name>``, result videos at ``{base}/files/b/<id>_output.mp4``.

The package's modules, from the bottom up: ``constants``, ``signing`` (webhook signatures, JWKS),
``values``; ``config`` (what tests set) and ``records`` (what tests read); ``errors`` and
``validation`` (model input schemas); the simulator's layers over ``state`` (``webhooks``, ``scheduler``,
``operations``, ``server``, ``queue_routes``, ``storage_routes``, ``control``), put together in
``simulator``; ``runner`` serves it.
"""

from sandbox.fal_sim.config import (
    SimConfig,
    SimFaults,
)
from sandbox.fal_sim.constants import (
    DEFAULT_KEY,
    DEFAULT_USER_ID,
    ERR_KEY_FORMAT,
    ERR_LOCKED,
    ERR_NO_USER,
    ERROR_TYPES,
    IMAGE_TO_VIDEO,
    MODEL_ERRORS,
    MODEL_IDS,
    OWNER_APP,
    PIKAFRAMES,
    PIKASCENES,
    REQUEST_ERRORS,
    SAMPLE_VIDEO,
    TEST_VECTOR_SEED,
    TEST_VECTOR_X,
    TEXT_TO_VIDEO,
    TURBO_IMAGE_TO_VIDEO,
    TURBO_TEXT_TO_VIDEO,
    V21_IMAGE_TO_VIDEO,
    V21_TEXT_TO_VIDEO,
)
from sandbox.fal_sim.errors import (
    ApiError,
    error_object,
    model_error_body,
    request_error_body,
)
from sandbox.fal_sim.records import (
    ImageFetch,
    QueueRequest,
    QueueStatus,
    RecordedRequest,
    RecordedWebhook,
    StoredFile,
)
from sandbox.fal_sim.runner import (
    RunningFalSimulator,
    main,
    start_simulator,
)
from sandbox.fal_sim.signing import (
    DEFAULT_JWKS,
    default_signing_key,
    jwks_for,
    public_x,
    serialize_webhook_body,
    sign_webhook,
    webhook_headers,
)
from sandbox.fal_sim.simulator import (
    FalSimulator,
)
from sandbox.fal_sim.validation import (
    MODEL_SPECS,
    ModelSpec,
    image_inputs,
    validate_input,
)

__all__ = [
    "DEFAULT_JWKS",
    "DEFAULT_KEY",
    "DEFAULT_USER_ID",
    "ERROR_TYPES",
    "ERR_KEY_FORMAT",
    "ERR_LOCKED",
    "ERR_NO_USER",
    "IMAGE_TO_VIDEO",
    "MODEL_ERRORS",
    "MODEL_IDS",
    "MODEL_SPECS",
    "OWNER_APP",
    "PIKAFRAMES",
    "PIKASCENES",
    "REQUEST_ERRORS",
    "SAMPLE_VIDEO",
    "TEST_VECTOR_SEED",
    "TEST_VECTOR_X",
    "TEXT_TO_VIDEO",
    "TURBO_IMAGE_TO_VIDEO",
    "TURBO_TEXT_TO_VIDEO",
    "V21_IMAGE_TO_VIDEO",
    "V21_TEXT_TO_VIDEO",
    "ApiError",
    "FalSimulator",
    "ImageFetch",
    "ModelSpec",
    "QueueRequest",
    "QueueStatus",
    "RecordedRequest",
    "RecordedWebhook",
    "RunningFalSimulator",
    "SimConfig",
    "SimFaults",
    "StoredFile",
    "default_signing_key",
    "error_object",
    "image_inputs",
    "jwks_for",
    "main",
    "model_error_body",
    "public_x",
    "request_error_body",
    "serialize_webhook_body",
    "sign_webhook",
    "start_simulator",
    "validate_input",
    "webhook_headers",
]
