"""Model input schemas (section 3.2) and the validation of a submit body against them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from sandbox.fal_sim.config import SimConfig
from sandbox.fal_sim.constants import (
    ASPECT_RATIOS,
    DURATIONS,
    IMAGE_TO_VIDEO,
    INGREDIENTS_MODES,
    NEGATIVE_DEFAULT,
    PIKAFRAMES,
    PIKASCENES,
    RESOLUTIONS,
    TEXT_TO_VIDEO,
    TURBO_IMAGE_TO_VIDEO,
    TURBO_TEXT_TO_VIDEO,
    V21_IMAGE_TO_VIDEO,
    V21_TEXT_TO_VIDEO,
)
from sandbox.fal_sim.errors import error_object
from sandbox.fal_sim.values import contains_any, enum_expected
from sandbox.sim_common.values import is_int


@dataclass(frozen=True)
class ModelSpec:
    """The input schema of one Pika model, reduced to what the validator needs."""

    model_id: str
    negative_default: str
    default_resolution: str
    prompt_required: bool = True
    aspect_ratio: bool = False
    duration: bool = False
    image_url: bool = False
    image_urls: bool = False
    ingredients_mode: bool = False
    transitions: bool = False
    #: v2.1 and v2 turbo declare ``duration`` as a plain integer (default 5), not v2.2's 5|10 enum.
    integer_duration: bool = False

    def fields(self) -> frozenset[str]:
        """Every input field the schema declares; any other is refused (``extra_forbidden``)."""
        declared = {"prompt", "resolution", "negative_prompt", "seed"}
        flags = {
            "aspect_ratio": self.aspect_ratio,
            "duration": self.duration,
            "image_url": self.image_url,
            "image_urls": self.image_urls,
            "ingredients_mode": self.ingredients_mode,
            "transitions": self.transitions,
        }
        return frozenset(declared | {name for name, on in flags.items() if on})


def _older_spec(model_id: str, *, image: bool) -> ModelSpec:
    """v2.1 and v2 turbo: the v2.2 text/image-to-video fields with an integer duration, negative ""."""
    return ModelSpec(
        model_id, "", "720p", aspect_ratio=not image, duration=True, image_url=image, integer_duration=True
    )


MODEL_SPECS: Final[Mapping[str, ModelSpec]] = {
    TEXT_TO_VIDEO: ModelSpec(TEXT_TO_VIDEO, NEGATIVE_DEFAULT, "720p", aspect_ratio=True, duration=True),
    IMAGE_TO_VIDEO: ModelSpec(IMAGE_TO_VIDEO, "", "720p", duration=True, image_url=True),
    PIKASCENES: ModelSpec(
        PIKASCENES,
        NEGATIVE_DEFAULT,
        "1080p",
        aspect_ratio=True,
        duration=True,
        image_urls=True,
        ingredients_mode=True,
    ),
    PIKAFRAMES: ModelSpec(PIKAFRAMES, "", "720p", prompt_required=False, image_urls=True, transitions=True),
    V21_TEXT_TO_VIDEO: _older_spec(V21_TEXT_TO_VIDEO, image=False),
    V21_IMAGE_TO_VIDEO: _older_spec(V21_IMAGE_TO_VIDEO, image=True),
    TURBO_TEXT_TO_VIDEO: _older_spec(TURBO_TEXT_TO_VIDEO, image=False),
    TURBO_IMAGE_TO_VIDEO: _older_spec(TURBO_IMAGE_TO_VIDEO, image=True),
}


#: The fields of one pikaframes transition (``KeyframeTransition``).
TRANSITION_FIELDS: Final = frozenset({"prompt", "duration"})


class _Validator:
    """Collects every ErrorObject for one body (Pydantic reports all field errors at once)."""

    def __init__(self, body: dict[str, object], config: SimConfig) -> None:
        self.body = body
        self.config = config
        self.errors: list[dict[str, object]] = []
        self.out: dict[str, object] = {}

    def fail(self, loc: Sequence[str | int], msg: str, type_: str, value: object, **ctx: object) -> None:
        self.errors.append(error_object(["body", *loc], msg, type_, input_value=value, ctx=ctx or None))

    def string(self, name: str, *, required: bool = False, default: str | None = None) -> None:
        if name not in self.body or (self.body[name] is None and not required):
            if required:
                self.fail([name], "Field required", "missing", self.body)
            elif default is not None:
                self.out[name] = default
            return
        value = self.body[name]
        if not isinstance(value, str):
            self.fail([name], "Input should be a valid string", "string_type", value)
            return
        self.out[name] = value

    def enum(self, name: str, options: Sequence[object], default: object) -> None:
        value = self.body.get(name, default)
        if value is None:
            value = default
        if value not in options or isinstance(value, bool):
            expected = enum_expected(options)
            self.fail([name], f"Input should be {expected}", "enum", value, expected=expected)
            return
        self.out[name] = value

    def undeclared(
        self, allowed: frozenset[str], loc: Sequence[str | int], body: Mapping[str, object]
    ) -> None:
        """Refuse fields the schema does not declare, as a Pydantic model with ``extra="forbid"``."""
        if not self.config.refuse_unknown_fields:
            return
        for name in sorted(set(body) - allowed):
            self.fail([*loc, name], "Extra inputs are not permitted", "extra_forbidden", body[name])

    def duration(self, *, integer: bool = False) -> None:
        value = self.body.get("duration", DURATIONS[0])
        if value is None:
            value = DURATIONS[0]
        if isinstance(value, str) and self.config.accept_string_duration and value.strip().isdigit():
            value = int(value.strip())
        if integer and not is_int(value):
            self.fail(["duration"], "Input should be a valid integer", "int_type", value)
            return
        if not integer and (not is_int(value) or value not in DURATIONS):
            expected = enum_expected(DURATIONS)
            self.fail(["duration"], f"Input should be {expected}", "enum", value, expected=expected)
            return
        self.out["duration"] = value

    def seed(self) -> None:
        value = self.body.get("seed")
        if value is None:
            self.out["seed"] = None
            return
        if not is_int(value):
            self.fail(["seed"], "Input should be a valid integer", "int_type", value)
            return
        self.out["seed"] = value

    def url_list(self, name: str, bounds: tuple[int, int]) -> None:
        if name not in self.body:
            self.fail([name], "Field required", "missing", self.body)
            return
        value = self.body[name]
        if not isinstance(value, list):
            self.fail([name], "Input should be a valid list", "list_type", value)
            return
        low, high = bounds
        if len(value) < low:
            self.fail(
                [name],
                f"List should have at least {low} item{'s' if low != 1 else ''} after validation, not {len(value)}",
                "too_short",
                value,
                field_type="List",
                min_length=low,
                actual_length=len(value),
            )
            return
        if len(value) > high:
            self.fail(
                [name],
                f"List should have at most {high} items after validation, not {len(value)}",
                "too_long",
                value,
                field_type="List",
                max_length=high,
                actual_length=len(value),
            )
            return
        bad = False
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.fail([name, i], "Input should be a valid string", "string_type", item)
                bad = True
        if not bad:
            self.out[name] = list(value)

    def transitions(self) -> None:
        raw = self.body.get("transitions")
        if raw is None:
            return
        if not isinstance(raw, list):
            self.fail(["transitions"], "Input should be a valid list", "list_type", raw)
            return
        items: list[dict[str, object]] = []
        for i, item in enumerate(raw):
            if not isinstance(item, dict):
                self.fail(
                    ["transitions", i],
                    "Input should be a valid dictionary or instance of PikaTransition",
                    "model_type",
                    item,
                    class_name="PikaTransition",
                )
                continue
            before = len(self.errors)
            self.undeclared(TRANSITION_FIELDS, ["transitions", i], item)
            if len(self.errors) > before:
                continue
            duration = item.get("duration", 5)
            if duration is None:
                duration = 5
            if not is_int(duration):
                self.fail(
                    ["transitions", i, "duration"], "Input should be a valid integer", "int_type", duration
                )
                continue
            if duration < 1:
                self.fail(
                    ["transitions", i, "duration"],
                    "Input should be greater than or equal to 1",
                    "greater_than_equal",
                    duration,
                    ge=1,
                )
                continue
            if duration > self.config.max_transition_seconds:
                high = self.config.max_transition_seconds
                self.fail(
                    ["transitions", i, "duration"],
                    f"Input should be less than or equal to {high}",
                    "less_than_equal",
                    duration,
                    le=high,
                )
                continue
            prompt = item.get("prompt")
            if prompt is not None and not isinstance(prompt, str):
                self.fail(
                    ["transitions", i, "prompt"], "Input should be a valid string", "string_type", prompt
                )
                continue
            items.append({"duration": duration, "prompt": prompt})
        if len(items) == len(raw):
            self.out["transitions"] = items

    def cross_checks(self) -> None:
        """The pikaframes model-level rules; like a Pydantic ``after`` validator, only on clean fields."""
        transitions = self.out.get("transitions")
        images = self.out.get("image_urls")
        if self.errors or not isinstance(transitions, list) or not isinstance(images, list):
            return
        if len(transitions) != len(images) - 1:
            self.errors.append(
                error_object(
                    ["body"],
                    "Value error, the number of transitions must be one less than the number of image_urls",
                    "value_error",
                    input_value=self.body,
                )
            )
            return
        total = sum(t["duration"] for t in transitions if is_int(t["duration"]))
        if total > self.config.max_transitions_total:
            self.errors.append(
                error_object(
                    ["body"],
                    f"Value error, the total duration of all transitions must be at most "
                    f"{self.config.max_transitions_total} seconds",
                    "value_error",
                    input_value=self.body,
                )
            )


def validate_input(
    spec: ModelSpec, body: object, config: SimConfig
) -> tuple[dict[str, object], list[dict[str, object]]]:
    """Validate a submit body; return the arguments with defaults filled in and the ErrorObjects."""
    if not isinstance(body, dict):
        msg = "Input should be a valid dictionary or object to extract fields from"
        return {}, [error_object(["body"], msg, "model_attributes_type", input_value=body)]
    v = _Validator(body, config)
    if spec.image_url:
        v.string("image_url", required=True)
    if spec.image_urls:
        bounds = config.scenes_images if spec.model_id == PIKASCENES else config.frames_images
        v.url_list("image_urls", bounds)
    v.string("prompt", required=spec.prompt_required)
    if spec.transitions:
        v.transitions()
    if spec.ingredients_mode:
        v.enum("ingredients_mode", INGREDIENTS_MODES, INGREDIENTS_MODES[0])
    if spec.aspect_ratio:
        v.enum("aspect_ratio", ASPECT_RATIOS, ASPECT_RATIOS[0])
    v.enum("resolution", RESOLUTIONS, spec.default_resolution)
    if spec.duration:
        v.duration(integer=spec.integer_duration)
    v.string("negative_prompt", default=spec.negative_default)
    v.seed()
    v.undeclared(spec.fields(), [], body)  # Pydantic reports extras after the declared fields
    v.cross_checks()
    return v.out, v.errors


def image_inputs(arguments: Mapping[str, object]) -> list[tuple[list[str | int], str]]:
    """``(loc, url)`` of every image URL among validated arguments."""
    out: list[tuple[list[str | int], str]] = []
    single = arguments.get("image_url")
    if isinstance(single, str):
        out.append((["body", "image_url"], single))
    many = arguments.get("image_urls")
    if isinstance(many, list):
        out.extend((["body", "image_urls", i], u) for i, u in enumerate(many) if isinstance(u, str))
    return out


def banned_loc(
    arguments: Mapping[str, object], words: Sequence[str]
) -> tuple[list[str | int], object] | None:
    """Where a banned word sits among the prompts, with the offending input."""
    if contains_any(arguments.get("prompt"), words):
        return ["body", "prompt"], arguments["prompt"]
    transitions = arguments.get("transitions")
    if isinstance(transitions, list):
        for i, t in enumerate(transitions):
            if isinstance(t, dict) and contains_any(t.get("prompt"), words):
                return ["body", "transitions", i, "prompt"], t["prompt"]
    return None
