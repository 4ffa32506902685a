"""The contract's constants (docs/fal-pika.md): model ids, test-vector key facts, option values,
error texts and codes, and the simulator's own fixed values.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final

OWNER_APP: Final = "fal-ai/pika"


TEXT_TO_VIDEO: Final = "fal-ai/pika/v2.2/text-to-video"


IMAGE_TO_VIDEO: Final = "fal-ai/pika/v2.2/image-to-video"


PIKASCENES: Final = "fal-ai/pika/v2.2/pikascenes"


PIKAFRAMES: Final = "fal-ai/pika/v2.2/pikaframes"


V21_TEXT_TO_VIDEO: Final = "fal-ai/pika/v2.1/text-to-video"


V21_IMAGE_TO_VIDEO: Final = "fal-ai/pika/v2.1/image-to-video"


TURBO_TEXT_TO_VIDEO: Final = "fal-ai/pika/v2/turbo/text-to-video"


TURBO_IMAGE_TO_VIDEO: Final = "fal-ai/pika/v2/turbo/image-to-video"


MODEL_IDS: Final = (
    TEXT_TO_VIDEO,
    IMAGE_TO_VIDEO,
    PIKASCENES,
    PIKAFRAMES,
    V21_TEXT_TO_VIDEO,
    V21_IMAGE_TO_VIDEO,
    TURBO_TEXT_TO_VIDEO,
    TURBO_IMAGE_TO_VIDEO,
)


#: The contract's test-vector seed: sha256("pika-bot fal webhook test vector v1").
TEST_VECTOR_SEED: Final = hashlib.sha256(b"pika-bot fal webhook test vector v1").digest()


#: The public ``x`` of that key, as in the contract's test JWKS.
TEST_VECTOR_X: Final = "g9eeZWltf3LIuaW6-nmPMaOQoMtSLkMbDSzup4AaKOs"


#: The user id of the contract's test vector.
DEFAULT_USER_ID: Final = "github|test-user-0001"


DEFAULT_KEY: Final = "sim-key-id:sim-key-secret"


ASPECT_RATIOS: Final = ("16:9", "9:16", "1:1", "4:5", "5:4", "3:2", "2:3")


RESOLUTIONS: Final = ("720p", "1080p")


DURATIONS: Final = (5, 10)


INGREDIENTS_MODES: Final = ("precise", "creative")


NEGATIVE_DEFAULT: Final = "ugly, bad, terrible"


ERRORS_DOC: Final = "https://docs.fal.ai/errors/"


ERR_NO_USER: Final = "No user found for Key ID and Secret"


ERR_KEY_FORMAT: Final = "Invalid Key Authorization header format. Expected '<key_id>:<key_secret>'."


ERR_LOCKED: Final = (
    "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing."
)


# UNCONFIRMED texts (see the module docstring).
ERR_NO_AUTH: Final = "Missing authorization header"


ERR_NOT_FOUND: Final = "Not Found"


ERR_REQUEST_NOT_FOUND: Final = "Request not found"


ERR_IN_PROGRESS: Final = "Request is still in progress"


ERR_QUEUE_FULL: Final = "Queue is full"


ERR_BAD_TOKEN: Final = "Invalid or expired token"  # noqa: S105 - an error text, not a secret


ERR_CANCELLED: Final = "Request cancelled by client"


CONTENT_POLICY_MSG: Final = (
    "The content could not be processed because it contained material flagged by a content checker."
)


#: Request (infrastructure) errors, section 1.8: error_type -> (HTTP status, detail text).
REQUEST_ERRORS: Final[Mapping[str, tuple[int, str]]] = {
    "request_timeout": (504, "Request timed out"),
    "startup_timeout": (504, "Runner startup timed out"),
    "runner_scheduling_failure": (503, "Failed to schedule a runner"),
    "runner_connection_timeout": (503, "Runner connection timed out"),
    "runner_disconnected": (503, "Runner disconnected"),
    "runner_connection_refused": (503, "Runner connection refused"),
    "runner_connection_error": (503, "Runner connection error"),
    "runner_incomplete_response": (502, "Runner returned an incomplete response"),
    "runner_server_error": (500, "Runner server error"),
    "client_disconnected": (499, "Client disconnected"),
    "client_cancelled": (499, ERR_CANCELLED),
    "bad_request": (400, "Bad request"),
    "internal_error": (500, "Internal error"),
}


#: Model errors, section 1.8: type -> (HTTP status, msg).
MODEL_ERRORS: Final[Mapping[str, tuple[int, str]]] = {
    "content_policy_violation": (422, CONTENT_POLICY_MSG),
    "no_media_generated": (422, "The model did not generate any media."),
    "image_too_small": (422, "Image dimensions are too small."),
    "image_too_large": (422, "Image dimensions are too large."),
    "image_load_error": (422, "Failed to load the image. Please check if the image file is valid."),
    "file_download_error": (422, "Failed to download the file. Please check if the URL is accessible."),
    "file_too_large": (422, "File is too large."),
    "internal_server_error": (500, "Internal server error"),
    "generation_timeout": (504, "Generation timed out"),
    "downstream_service_error": (400, "The downstream service returned an error."),
    "downstream_service_unavailable": (500, "The downstream service is unavailable."),
}


ERROR_TYPES: Final = frozenset(REQUEST_ERRORS) | frozenset(MODEL_ERRORS)


ASSETS_DIR: Final = Path(__file__).parent.parent / "assets"


SAMPLE_VIDEO: Final = ASSETS_DIR / "sample.mp4"


OUTPUT_FILE_NAME: Final = "output.mp4"


#: Hosts the simulator will fetch an image URL from or post a webhook to.
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})


CLIENT_MAX_SIZE: Final = 64 * 1024 * 1024


JSON_HEADERS: Final = {"Content-Type": "application/json"}


REQUEST_ID_HEADER: Final = "x-fal-request-id"


TRUE_WORDS: Final = frozenset({"1", "true", "True", "yes"})


dumps = functools.partial(json.dumps, ensure_ascii=False)


MISSING: Final = object()


NAME_RE: Final = re.compile(r"[^A-Za-z0-9._-]+")
