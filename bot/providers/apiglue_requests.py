"""What API Glue takes (docs/apiglue-pika.md): its options' ranges and our defaults, the checks of a
job request against them, and the JSON body of each route. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from bot.domain.jobs import InputFile, JobKind, JobRequest
from bot.domain.params import ParamName, VideoParams
from bot.domain.prompt import PromptError
from bot.providers.apiglue_answers import NAME
from bot.providers.base import Capabilities, ErrorKind, SubmitRequest, UpstreamError

# Ranges and value sets from docs/apiglue-pika.md ("options").
ASPECT_RATIOS: Final = ("16:9", "9:16", "1:1", "5:2", "4:5", "4:3")
FPS_RANGE: Final = (1, 24)
MOTION_RANGE: Final = (1, 4)
GUIDANCE_RANGE: Final = (5, 25)
# UNCONFIRMED: the docs only show pan "right", tilt "up", rotate "cw", zoom "in"; the opposites are
# assumed (the simulator assumes the same).
CAMERA_VALUES: Final[Mapping[ParamName, tuple[str, ...]]] = {
    ParamName.PAN: ("left", "right"),
    ParamName.TILT: ("up", "down"),
    ParamName.ROTATE: ("cw", "ccw"),
    ParamName.ZOOM: ("in", "out"),
}
# UNCONFIRMED: API Glue publishes no promptText limit; 2000 is what the simulator enforces.
MAX_PROMPT_LENGTH: Final = 2000
# API Glue runs on JavaScript (Firestore timestamps): a larger seed would silently lose precision.
MAX_SEED: Final = 2**53 - 1

# API Glue requires motion, guidanceScale and frameRate on every request (docs/apiglue-pika.md). When
# the member gives none we send what seed 004's echoed job shows for a request without options:
# motion 1, guidanceScale 12, frameRate 24, aspectRatio 16:9, negativePrompt "" and seed null.
# They are also Pika's own defaults (-motion 1, -gs 12, -fps 24), so a job looks as it would on Pika.
DEFAULT_ASPECT_RATIO: Final = "16:9"
DEFAULT_FPS: Final = 24
DEFAULT_MOTION: Final = 1
DEFAULT_GUIDANCE: Final = 12
DEFAULT_NEGATIVE: Final = ""

_GENERATE_KINDS: Final = frozenset({JobKind.GENERATE, JobKind.CREATE, JobKind.ANIMATE})


# -- checks -------------------------------------------------------------------------------------


def check_request(request: JobRequest, capabilities: Capabilities) -> None:
    """Refuse what API Glue would refuse (or silently ignore), naming the option (PromptError)."""
    if request.kind not in capabilities.kinds:
        raise PromptError(f"{NAME} cannot run {request.kind.value} jobs", field="kind")
    if request.kind is JobKind.UPSCALE:
        return  # only the finished video is sent
    _check_no_flags(request)
    _check_params(request.params, capabilities.params)
    text = request.prompt.strip()
    if len(text) > MAX_PROMPT_LENGTH:
        raise PromptError(
            f"the prompt is {len(text):,} characters; {NAME} allows {MAX_PROMPT_LENGTH:,} — "
            f"shorten it by {len(text) - MAX_PROMPT_LENGTH:,}",
            field="prompt",
        )
    if request.kind is JobKind.EXTEND:
        return  # the prompt and options are the finished job's own
    if not text:
        raise PromptError(
            f"the prompt is empty: describe the video you want ({NAME} needs a prompt)", field="prompt"
        )
    image = _check_inputs(request.inputs)
    if request.kind is JobKind.ANIMATE and image is None:
        raise PromptError("/animate needs an image to animate", field="image")


def _check_no_flags(request: JobRequest) -> None:
    """Pika's inline flags are useapi.net's; API Glue takes typed options, so a flag would be lost."""
    flags = request.options.to_json()
    if flags:
        name, value = next(iter(flags.items()))
        raise PromptError(
            f"{NAME} does not take Pika prompt flags ({name} {value}); use the slash-command options",
            field=name,
        )


def _check_params(params: VideoParams, declared: frozenset[ParamName]) -> None:
    """Every given option must be one API Glue takes, in its range."""
    undeclared = sorted(params.given() - declared)
    if undeclared:
        raise PromptError(f"{NAME} does not take {undeclared[0]}", field=undeclared[0].value)
    if params.aspect_ratio is not None and params.aspect_ratio not in ASPECT_RATIOS:
        raise PromptError(
            f"aspect_ratio must be one of {', '.join(ASPECT_RATIOS)} for {NAME} "
            f"(you gave {params.aspect_ratio})",
            field=ParamName.ASPECT_RATIO.value,
        )
    _check_range(ParamName.FPS, params.fps, FPS_RANGE)
    _check_range(ParamName.MOTION, params.motion, MOTION_RANGE)
    _check_range(ParamName.GUIDANCE, params.guidance, GUIDANCE_RANGE)
    _check_range(ParamName.SEED, params.seed, (0, MAX_SEED))
    if params.negative is not None and not isinstance(params.negative, str):
        raise PromptError("negative must be text", field=ParamName.NEGATIVE.value)
    for name, allowed in CAMERA_VALUES.items():
        value = getattr(params, name.value)
        if value is not None and value not in allowed:
            raise PromptError(
                f"{name} must be {' or '.join(allowed)} for {NAME} (you gave {value})", field=name.value
            )


def _check_range(name: ParamName, value: object, bounds: tuple[int, int]) -> None:
    if value is None:
        return
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PromptError(
            f"{name} must be a whole number from {low:,} to {high:,} for {NAME} (you gave {value})",
            field=name.value,
        )


def _check_inputs(inputs: tuple[InputFile, ...]) -> InputFile | None:
    """At most one image, and it must be reachable by URL; returns it."""
    images = [item for item in inputs if item.form_field == "image"]
    others = sorted({item.form_field for item in inputs if item.form_field != "image"})
    if others:
        raise PromptError(f"{NAME} does not take a {others[0]} file", field=others[0])
    if len(images) > 1:
        raise PromptError(f"{NAME} takes one image; {len(images)} were attached", field="image")
    if not images:
        return None
    url = images[0].url
    if not url or not url.startswith(("http://", "https://")):
        raise PromptError(
            f"{NAME} takes the image as a link, and this upload has none; attach the image again",
            field="image",
        )
    return images[0]


# -- request bodies -----------------------------------------------------------------------------


def submit_body(request: SubmitRequest) -> dict[str, object]:
    """The JSON body for the request's route (generate, extend or upscale)."""
    body: dict[str, object] = {}
    if request.kind in _GENERATE_KINDS:
        body["promptText"] = request.prompt.strip()
        body["options"] = build_options(request.params)
        image = next((item for item in request.inputs if item.form_field == "image"), None)
        if image is not None:
            if not image.url:
                raise UpstreamError(
                    ErrorKind.INVALID_REQUEST, f"{NAME} needs the image's URL, and it has none"
                )
            body["image"] = image.url
    else:
        if not request.parent_video_url:
            raise UpstreamError(
                ErrorKind.INVALID_REQUEST, f"a {request.kind.value} needs the finished video's URL"
            )
        if request.kind is JobKind.EXTEND:
            prompt = request.prompt.strip()
            if prompt:
                # Absent, API Glue keeps the source video's prompt (UNCONFIRMED; the simulator does).
                body["promptText"] = prompt
            body["options"] = build_options(request.params)
        body["video"] = request.parent_video_url
    body["ref"] = request.reply_ref
    if request.reply_url:
        body["webhookOverride"] = request.reply_url
    return body


def build_options(params: VideoParams) -> dict[str, object]:
    """``options`` with the required fields always filled (the member's value, else our default)."""
    options: dict[str, object] = {
        "aspectRatio": params.aspect_ratio or DEFAULT_ASPECT_RATIO,
        "frameRate": params.fps if params.fps is not None else DEFAULT_FPS,
    }
    camera = {
        name.value: getattr(params, name.value)
        for name in CAMERA_VALUES
        if getattr(params, name.value) is not None
    }
    if camera:
        # UNCONFIRMED: only the moves given are sent; the docs never show a partial camera object.
        options["camera"] = camera
    options["parameters"] = {
        "motion": params.motion if params.motion is not None else DEFAULT_MOTION,
        "guidanceScale": params.guidance if params.guidance is not None else DEFAULT_GUIDANCE,
        "negativePrompt": params.negative if params.negative is not None else DEFAULT_NEGATIVE,
        "seed": params.seed,  # null lets Pika pick one (seed 004 shows "seed": null)
    }
    return options
