"""What fal.ai's Pika models are sent: the input JSON, the checks that refuse what the routed model
would reject or ignore (by name), and the handle stored with the job. Which model runs a request is
``models.route_for``.

Facts: docs/fal-pika.md sections 1.2 and 3.2-3.4.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from bot.config import FalEndpoint
from bot.domain.jobs import InputFile, JobKind, JobRequest
from bot.domain.params import ParamName, Transition, VideoParams
from bot.domain.prompt import PromptError
from bot.providers.fal.models import NAME, FalRoute
from bot.providers.fal.prices import FRAME_TRANSITION_SECONDS

# The v2.2 endpoint ids (the built-in default model's, see bot.config.fal_models).
TEXT_TO_VIDEO: Final = "fal-ai/pika/v2.2/text-to-video"
IMAGE_TO_VIDEO: Final = "fal-ai/pika/v2.2/image-to-video"
PIKASCENES: Final = "fal-ai/pika/v2.2/pikascenes"
PIKAFRAMES: Final = "fal-ai/pika/v2.2/pikaframes"
# Status, result and cancel live under owner/app only (section 1.2); used when no handle is stored.
_REQUESTS_PATH: Final = "fal-ai/pika/requests"

# Value sets from section 3.2.
ASPECT_RATIOS: Final = ("16:9", "9:16", "1:1", "4:5", "5:4", "3:2", "2:3")
RESOLUTIONS: Final = ("720p", "1080p")
DURATIONS: Final = (5, 10)
# /pika scenes and /pika frames take 2 to 5 images. UNCONFIRMED for pikascenes: fal publishes no
# maximum (third parties say 1-5); a scene of one image is what /pika create with an image is for.
MIN_IMAGES: Final = 2
MAX_IMAGES: Final = 5
# fal's schema says "int"; keep it within what a JSON number carries exactly (Discord's range too).
MAX_SEED: Final = 2**53 - 1
# pikaframes' transitions: each 1-25 s (5 s when not given), at most 25 s in all (section 3.2).
TRANSITION_SECONDS: Final = (1, 25)
MAX_TRANSITIONS_TOTAL: Final = 25

# The typed options each kind of endpoint's input schema has (section 3.2), the same for every Pika
# version fal serves; a model's configured `options` may narrow them. Any other is refused by name.
_CLIP_PARAMS: Final = frozenset(
    {ParamName.ASPECT_RATIO, ParamName.RESOLUTION, ParamName.DURATION, ParamName.NEGATIVE, ParamName.SEED}
)
ENDPOINT_PARAMS: Final[Mapping[FalEndpoint, frozenset[ParamName]]] = {
    FalEndpoint.TEXT_TO_VIDEO: _CLIP_PARAMS,
    FalEndpoint.IMAGE_TO_VIDEO: _CLIP_PARAMS - {ParamName.ASPECT_RATIO},
    FalEndpoint.PIKASCENES: _CLIP_PARAMS,
    FalEndpoint.PIKAFRAMES: frozenset(
        {ParamName.RESOLUTION, ParamName.NEGATIVE, ParamName.SEED, ParamName.TRANSITIONS}
    ),
}
# Why an endpoint has no such option, in the member's terms.
_WHY_NOT: Final[Mapping[tuple[FalEndpoint, ParamName], str]] = {
    (FalEndpoint.IMAGE_TO_VIDEO, ParamName.ASPECT_RATIO): "takes its shape from the image",
    (FalEndpoint.PIKAFRAMES, ParamName.ASPECT_RATIO): "takes its shape from the keyframes",
    (FalEndpoint.PIKAFRAMES, ParamName.DURATION): (
        "takes its length from the transitions (5 s between each two keyframes unless you set seconds1…4)"
    ),
}
# Pika's inline flags that have a typed counterpart here: (PikaOptions field) -> the option to use.
_FLAG_OPTIONS: Final[Mapping[str, ParamName]] = {
    "negative": ParamName.NEGATIVE,
    "aspect_ratio": ParamName.ASPECT_RATIO,
    "seed": ParamName.SEED,
}
# The input names an image may come in under: "image" (create, animate) or "image_1".."image_5".
_IMAGE_FIELD: Final = re.compile(r"image(?:_([1-9][0-9]?))?")

_UNSAFE_NAME: Final = re.compile(r"[^A-Za-z0-9._-]+")


# -- the stored handle ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FalHandle:
    """The three URLs fal returned at submit, stored with the job and used exactly as given."""

    status_url: str
    response_url: str
    cancel_url: str
    model: str = ""

    def to_text(self) -> str:
        """JSON for the job's ``upstream_handle`` column."""
        return json.dumps(
            {
                "status_url": self.status_url,
                "response_url": self.response_url,
                "cancel_url": self.cancel_url,
                "model": self.model,
            },
            sort_keys=True,
        )

    @classmethod
    def from_text(cls, text: str) -> FalHandle | None:
        """Parse a stored handle; None when it is not one of ours."""
        try:
            data = json.loads(text)
        except (ValueError, TypeError):
            return None
        if not isinstance(data, dict):
            return None
        urls = [data.get(key) for key in ("status_url", "response_url", "cancel_url")]
        if not all(isinstance(url, str) and url for url in urls):
            return None
        model = data.get("model")
        return cls(str(urls[0]), str(urls[1]), str(urls[2]), model if isinstance(model, str) else "")

    @classmethod
    def rebuilt(cls, base_url: str, request_id: str) -> FalHandle:
        """The owner/app URLs fal_client rebuilds from a request id (section 1.2)."""
        root = f"{base_url}/{_REQUESTS_PATH}/{quote(request_id, safe='')}"
        return cls(f"{root}/status", root, f"{root}/cancel")


# -- models and payloads ----------------------------------------------------------------------------


def build_payload(
    route: FalRoute, prompt: str, params: VideoParams, image_urls: Sequence[str]
) -> dict[str, object]:
    """The model's input JSON: only the options given (each model's own defaults apply otherwise)."""
    payload: dict[str, object] = {}
    if prompt:
        payload["prompt"] = prompt
    if route.endpoint is FalEndpoint.IMAGE_TO_VIDEO:
        payload["image_url"] = image_urls[0]
    elif route.endpoint in (FalEndpoint.PIKASCENES, FalEndpoint.PIKAFRAMES):
        payload["image_urls"] = list(image_urls)
    allowed = allowed_params(route)
    optional: dict[ParamName, tuple[str, object]] = {
        ParamName.ASPECT_RATIO: ("aspect_ratio", params.aspect_ratio),
        ParamName.RESOLUTION: ("resolution", params.resolution),
        # An int: fal's schema moved from numbers to "5"|"10" strings to 5|10 ints (section 3.4).
        ParamName.DURATION: ("duration", params.duration),
        ParamName.NEGATIVE: ("negative_prompt", params.negative),
        ParamName.SEED: ("seed", params.seed),
        ParamName.TRANSITIONS: ("transitions", transitions_json(params.transitions)),
    }
    for name, (key, value) in optional.items():
        if value is not None and name in allowed:
            payload[key] = value
    return payload


def transitions_json(transitions: Sequence[Transition] | None) -> list[dict[str, object]] | None:
    """fal's ``transitions``: each with its length (5 s unless given) and its own prompt if any."""
    if transitions is None:
        return None
    out: list[dict[str, object]] = []
    for transition in transitions:
        item: dict[str, object] = {"duration": transition_seconds(transition)}
        if transition.prompt:
            item["prompt"] = transition.prompt
        out.append(item)
    return out


def transition_seconds(transition: Transition) -> int:
    """A transition's length: the member's, or fal's default of 5 s."""
    return transition.seconds if transition.seconds is not None else FRAME_TRANSITION_SECONDS


def allowed_params(route: FalRoute) -> frozenset[ParamName]:
    """The options a request on this route may carry: its endpoint's, narrowed by the model's config."""
    configured = frozenset(ParamName(option) for option in route.model.options)
    return (ENDPOINT_PARAMS[route.endpoint] & configured) | {ParamName.MODEL}


def images_of(inputs: Sequence[InputFile]) -> list[InputFile]:
    """The image inputs in the member's order (``image_1`` first); other inputs are left out."""
    numbered: list[tuple[int, int, InputFile]] = []
    for position, item in enumerate(inputs):
        match = _IMAGE_FIELD.fullmatch(item.form_field)
        if match is not None:
            numbered.append((int(match.group(1) or 0), position, item))
    return [item for _, _, item in sorted(numbered, key=lambda entry: entry[:2])]


def upload_name(item: InputFile, index: int) -> str:
    """A header-safe file name for fal's storage (the member's name may hold anything)."""
    cleaned = _UNSAFE_NAME.sub("_", item.filename).strip("._")[:80]
    return cleaned or f"image_{index}"


# -- checks -----------------------------------------------------------------------------------------


def check_no_flags(request: JobRequest) -> None:
    """Pika's inline flags are useapi.net's; fal takes typed options, so a flag would be lost."""
    fields = list(request.options.to_json())
    flags = request.options.flags()
    if not fields:
        return
    field, (flag, _) = fields[0], flags[0]
    option = _FLAG_OPTIONS.get(field)
    if option is not None:
        text = (
            f"{NAME} takes the command's options, not Pika's `{flag}` flag: use the `{option.value}` option"
        )
    else:
        text = (
            f"{NAME} takes the command's options, not Pika's flags, and has nothing like `{flag}`: remove it"
        )
    raise PromptError(text, field=field)


def check_images(request: JobRequest) -> list[InputFile]:
    """The images fit the command: one at most for create, one for animate, 2-5 for scenes/frames."""
    images = images_of(request.inputs)
    others = sorted({item.form_field for item in request.inputs} - {item.form_field for item in images})
    if others:
        raise PromptError(f"{NAME} does not take a {others[0]} file", field=others[0])
    if any(not item.data for item in images):
        raise PromptError("an attached image is empty; attach it again", field="image")
    count = len(images)
    if request.kind in (JobKind.SCENES, JobKind.FRAMES):
        what = "images" if request.kind is JobKind.SCENES else "keyframes"
        if not MIN_IMAGES <= count <= MAX_IMAGES:
            raise PromptError(
                f"/pika {request.kind.value} needs {MIN_IMAGES} to {MAX_IMAGES} {what} ({count} attached)",
                field="image",
            )
    elif request.kind is JobKind.ANIMATE and count != 1:
        raise PromptError(
            "/pika animate needs an image to animate" if not count else "/pika animate takes one image",
            field="image",
        )
    elif count > 1:
        raise PromptError(f"/pika {request.kind.value} takes one image ({count} attached)", field="image")
    return images


def check_params(route: FalRoute, params: VideoParams, image_count: int) -> None:
    """Every option given is one the route's model and endpoint take, with a value it accepts."""
    allowed = allowed_params(route)
    for option in sorted(params.given() - allowed):
        why = _WHY_NOT.get((route.endpoint, option), "does not take it")
        raise PromptError(f"{NAME}'s {route.title} {why}; remove {option.value}", field=option.value)
    if params.aspect_ratio is not None and params.aspect_ratio not in ASPECT_RATIOS:
        raise PromptError(
            f"aspect_ratio must be one of {', '.join(ASPECT_RATIOS)} on {NAME} (you gave {params.aspect_ratio})",
            field=ParamName.ASPECT_RATIO.value,
        )
    if params.resolution is not None and params.resolution not in RESOLUTIONS:
        raise PromptError(
            f"resolution must be 720p or 1080p on {NAME} (you gave {params.resolution})",
            field=ParamName.RESOLUTION.value,
        )
    duration = params.duration
    if duration is not None and (isinstance(duration, bool) or duration not in DURATIONS):
        raise PromptError(
            f"duration must be 5 or 10 seconds on {NAME} (you gave {duration})",
            field=ParamName.DURATION.value,
        )
    seed = params.seed
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED
    ):
        raise PromptError(
            f"seed must be a whole number from 0 to {MAX_SEED:,} (you gave {seed})",
            field=ParamName.SEED.value,
        )
    if params.negative is not None and not isinstance(params.negative, str):
        raise PromptError("negative must be text", field=ParamName.NEGATIVE.value)
    if params.transitions is not None:
        check_transitions(params.transitions, image_count)


def check_transitions(transitions: Sequence[Transition], image_count: int) -> None:
    """One transition per pair of consecutive keyframes, each 1-25 s, at most 25 s in all."""
    field = ParamName.TRANSITIONS.value
    if len(transitions) != image_count - 1:
        raise PromptError(
            f"{image_count} keyframes make {image_count - 1} transitions ({len(transitions)} given)",
            field=field,
        )
    low, high = TRANSITION_SECONDS
    for number, transition in enumerate(transitions, start=1):
        seconds = transition.seconds
        if seconds is not None and (isinstance(seconds, bool) or not low <= seconds <= high):
            raise PromptError(
                f"seconds{number} must be a whole number from {low} to {high} (you gave {seconds})",
                field=field,
            )
    total = sum(transition_seconds(t) for t in transitions)
    if total > MAX_TRANSITIONS_TOTAL:
        raise PromptError(
            f"the transitions add up to {total} s; {NAME} makes at most {MAX_TRANSITIONS_TOTAL} s in all "
            "(each one you leave out is 5 s)",
            field=field,
        )
