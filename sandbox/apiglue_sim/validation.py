"""Request parsing and validation: a submit body and its ``options``, checked before a job is made."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sandbox.apiglue_sim.constants import (
    ASPECT_RATIOS,
    CAMERA_VALUES,
    DEFAULT_ASPECT_RATIO,
    ERR_BODY,
    FRAME_RATE_RANGE,
    GUIDANCE_RANGE,
    MAX_PROMPT,
    MOTION_RANGE,
)
from sandbox.apiglue_sim.errors import api_error
from sandbox.apiglue_sim.records import RequestType
from sandbox.sim_common.values import is_http_url, is_int, is_number


@dataclass
class SubmitBody:
    """A validated submit body."""

    prompt_text: str | None
    options: dict[str, object] | None
    image: str | None
    video: str | None
    ref: str
    webhook_override: str | None
    extra: dict[str, object]


def _int_in(raw: object, path: str, bounds: tuple[int, int]) -> int:
    if raw is None:
        raise api_error(400, f"{path} is required")
    if not is_int(raw) or not bounds[0] <= raw <= bounds[1]:
        raise api_error(400, f"{path} must be an integer from {bounds[0]} to {bounds[1]}")
    return raw


def _camera(raw: object) -> dict[str, object]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise api_error(400, "options.camera must be an object or null")
    camera: dict[str, object] = {}
    for name, allowed in CAMERA_VALUES.items():
        value = raw.get(name)
        if value is not None and value not in allowed:
            raise api_error(400, f"options.camera.{name} must be one of {', '.join(allowed)} or null")
        camera[name] = value
    return camera


def _parameters(raw: object) -> dict[str, object]:
    if raw is None:
        raise api_error(400, "options.parameters is required")
    if not isinstance(raw, dict):
        raise api_error(400, "options.parameters must be an object")
    motion = _int_in(raw.get("motion"), "options.parameters.motion", MOTION_RANGE)
    guidance = raw.get("guidanceScale")
    low, high = GUIDANCE_RANGE
    if guidance is None:
        raise api_error(400, "options.parameters.guidanceScale is required")
    if not is_number(guidance) or not low <= guidance <= high:
        raise api_error(400, f"options.parameters.guidanceScale must be a number from {low} to {high}")
    negative = raw.get("negativePrompt")
    if negative is None:
        negative = ""
    if not isinstance(negative, str):
        raise api_error(400, "options.parameters.negativePrompt must be a string")
    seed = raw.get("seed")
    if seed is not None and (not is_int(seed) or seed < 0):
        raise api_error(400, "options.parameters.seed must be a non-negative integer or null")
    return {"motion": motion, "guidanceScale": guidance, "negativePrompt": negative, "seed": seed}


def parse_options(raw: object) -> dict[str, object]:
    """Validate ``options`` and return it normalized as API Glue echoes it (all keys, nulls filled)."""
    if raw is None:
        raise api_error(400, "options is required")
    if not isinstance(raw, dict):
        raise api_error(400, "options must be an object")
    aspect = raw.get("aspectRatio")
    if aspect is None:
        aspect = DEFAULT_ASPECT_RATIO
    if aspect not in ASPECT_RATIOS:
        raise api_error(400, f"options.aspectRatio must be one of {', '.join(ASPECT_RATIOS)}")
    frame_rate = _int_in(raw.get("frameRate"), "options.frameRate", FRAME_RATE_RANGE)
    camera = _camera(raw.get("camera"))
    parameters = _parameters(raw.get("parameters"))
    extend = raw.get("extend", False)
    if not isinstance(extend, bool):
        raise api_error(400, "options.extend must be a boolean")
    return {
        "aspectRatio": aspect,
        "frameRate": frame_rate,
        "camera": camera,
        "parameters": parameters,
        "extend": extend,
    }


def _optional_url(body: Mapping[str, object], name: str) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not is_http_url(value):
        raise api_error(400, f"{name} must be an http(s) URL")
    return value


def parse_submit(body: object, request_type: RequestType) -> SubmitBody:
    """Validate a submit body for ``request_type``; ApiError 400 names the first bad field."""
    if not isinstance(body, dict):
        raise api_error(400, ERR_BODY)
    image = _optional_url(body, "image") if request_type is RequestType.GENERATE else None
    video = _optional_url(body, "video")
    if request_type is not RequestType.GENERATE and video is None:
        raise api_error(400, "video is required")
    prompt = body.get("promptText")
    if prompt is not None and not isinstance(prompt, str):
        raise api_error(400, "promptText must be a string")
    if request_type is RequestType.GENERATE and not (prompt or "").strip() and image is None:
        raise api_error(400, "promptText is required unless image is given")
    if prompt is not None and len(prompt) > MAX_PROMPT:
        raise api_error(400, f"promptText must be at most {MAX_PROMPT} characters")
    options = None if request_type is RequestType.UPSCALE else parse_options(body.get("options"))
    ref = body.get("ref")
    if ref is None:
        ref = ""
    if not isinstance(ref, str):
        raise api_error(400, "ref must be a string")
    webhook = _optional_url(body, "webhookOverride")
    # style, sfx, model and the like are accepted and recorded but change nothing here.
    known = {"promptText", "options", "image", "video", "ref", "webhookOverride"}
    extra = {k: v for k, v in body.items() if k not in known}
    return SubmitBody(prompt, options, image, video, ref, webhook, extra)
