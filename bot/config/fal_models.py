"""``[fal]`` and its ``[[fal.models]]``: the Pika models fal.ai serves, their endpoint ids and prices.

fal's catalogue changes (new versions, new prices) faster than releases: an operator follows it by
editing these tables. Each entry names a model as members pick it (``/pika create model:v2.1``), the
fal endpoint id per kind of request it serves, the options those endpoints take, and its prices.
``FalCatalogue`` answers which model runs a request; the Discord layer (the ``model`` option's
choices and default) and the fal provider (the endpoint and the price) both ask it, so they agree.
Facts: docs/fal-pika.md section 3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from bot.config.checks import HTTP, STRICT, Secret, as_tuple, check_url, explain, reject, show_value
from bot.domain.jobs import JobKind


class FalEndpoint(StrEnum):
    """The kinds of request a Pika model on fal may serve; each is a config key of a model entry."""

    TEXT_TO_VIDEO = "text_to_video"
    IMAGE_TO_VIDEO = "image_to_video"
    PIKASCENES = "pikascenes"
    PIKAFRAMES = "pikaframes"


#: The options a model entry may list (``bot.domain.params.ParamName`` values fal's Pika schemas have).
FalOption = Literal["aspect_ratio", "resolution", "duration", "negative", "seed", "transitions"]
ALL_OPTIONS: Final[tuple[FalOption, ...]] = (
    "aspect_ratio",
    "resolution",
    "duration",
    "negative",
    "seed",
    "transitions",
)
_CLIP_OPTIONS: Final[tuple[FalOption, ...]] = ALL_OPTIONS[:-1]
#: Discord lists at most 25 choices for an option; each model is one choice of ``model``.
MAX_MODELS: Final = 25
_NAME_RE: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
# The same shape the fal client accepts for a submit path: owner/app[/path…], no query.
_ENDPOINT_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)+")
_CLIPS: Final = (FalEndpoint.TEXT_TO_VIDEO, FalEndpoint.IMAGE_TO_VIDEO, FalEndpoint.PIKASCENES)


def _price() -> Any:
    return Field(
        default=None,
        ge=0,
        le=100,
        allow_inf_nan=False,
        json_schema_extra=explain("must be USD from 0 to 100"),
    )


def _endpoint() -> Any:
    return Field(
        default="",
        json_schema_extra=explain('must be a fal endpoint id, e.g. "fal-ai/pika/v2.2/text-to-video", or ""'),
    )


class FalModelSettings(BaseModel):
    """One ``[[fal.models]]`` entry: a Pika model, its fal endpoints and its prices.

    An endpoint left ``""`` is one the model does not have. Clip prices (text/image-to-video and
    pikascenes) are USD per 5 s of video (``clip_price_per = "5s"``) or per video whatever its
    length (``"video"``); pikaframes is priced per second of video (its transitions added up).
    """

    model_config = STRICT

    name: str = Field(json_schema_extra=explain('must be a short lower-case name, e.g. "v2.2"'))
    text_to_video: str = _endpoint()
    image_to_video: str = _endpoint()
    pikascenes: str = _endpoint()
    pikaframes: str = _endpoint()
    options: Annotated[tuple[FalOption, ...], BeforeValidator(as_tuple)] = Field(
        default=ALL_OPTIONS,
        json_schema_extra=explain(
            f"must be an array of option names, e.g. {list(ALL_OPTIONS[:2])}",
            item=f"must be one of {', '.join(ALL_OPTIONS)}",
        ),
    )
    clip_price_per: Literal["5s", "video"] = Field(
        default="5s", json_schema_extra=explain('must be "5s" (per 5 s of video) or "video" (per clip)')
    )
    clip_720p: float | None = _price()
    clip_1080p: float | None = _price()
    frames_720p_per_second: float | None = _price()
    frames_1080p_per_second: float | None = _price()

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _NAME_RE.fullmatch(value):
            raise reject(
                'must be 1-32 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit, '
                f'e.g. "v2.2" (got {show_value(value)})'
            )
        return value

    @field_validator(*(endpoint.value for endpoint in FalEndpoint))
    @classmethod
    def _check_endpoint(cls, value: str) -> str:
        value = value.strip().strip("/")
        if value and not _ENDPOINT_RE.fullmatch(value):
            raise reject(
                'must be a fal endpoint id, e.g. "fal-ai/pika/v2.2/text-to-video", or "" when the model '
                f"has none (got {show_value(value)})"
            )
        return value

    @model_validator(mode="after")
    def _check_prices(self) -> FalModelSettings:
        if not any(self.endpoint(e) for e in FalEndpoint):
            raise reject(
                f'model "{self.name}" names no endpoint: set at least text_to_video or image_to_video'
            )
        clips = [e.value for e in _CLIPS if self.endpoint(e)]
        if clips and (self.clip_720p is None or self.clip_1080p is None):
            raise reject(f'model "{self.name}" needs clip_720p and clip_1080p (USD) for {", ".join(clips)}')
        frames = self.frames_720p_per_second is None or self.frames_1080p_per_second is None
        if self.pikaframes and frames:
            raise reject(
                f'model "{self.name}" needs frames_720p_per_second and frames_1080p_per_second '
                "(USD) for pikaframes"
            )
        return self

    def endpoint(self, endpoint: FalEndpoint) -> str:
        """The fal endpoint id serving ``endpoint`` requests; "" when the model has none."""
        value: str = getattr(self, endpoint.value)
        return value

    def serves(self, endpoint: FalEndpoint) -> bool:
        """Whether the model has an endpoint of that kind."""
        return bool(self.endpoint(endpoint))


#: The models fal serves (docs/fal-pika.md section 3.1), at fal's list prices: what an empty config gets.
BUILTIN_MODELS: Final = (
    FalModelSettings(
        name="v2.2",
        text_to_video="fal-ai/pika/v2.2/text-to-video",
        image_to_video="fal-ai/pika/v2.2/image-to-video",
        pikascenes="fal-ai/pika/v2.2/pikascenes",
        pikaframes="fal-ai/pika/v2.2/pikaframes",
        clip_price_per="5s",
        clip_720p=0.20,
        clip_1080p=0.45,
        frames_720p_per_second=0.04,
        frames_1080p_per_second=0.06,
    ),
    FalModelSettings(
        name="v2.1",
        options=_CLIP_OPTIONS,
        text_to_video="fal-ai/pika/v2.1/text-to-video",
        image_to_video="fal-ai/pika/v2.1/image-to-video",
        clip_price_per="video",
        clip_720p=0.40,
        clip_1080p=0.40,
    ),
    FalModelSettings(
        name="v2-turbo",
        options=_CLIP_OPTIONS,
        text_to_video="fal-ai/pika/v2/turbo/text-to-video",
        image_to_video="fal-ai/pika/v2/turbo/image-to-video",
        clip_price_per="video",
        clip_720p=0.20,
        clip_1080p=0.20,
    ),
)
DEFAULT_MODEL: Final = "v2.2"

FalModels = Annotated[tuple[FalModelSettings, ...], BeforeValidator(as_tuple)]


def models_field() -> Any:
    """The ``models`` field of ``[fal]``: the built-in list unless the file has ``[[fal.models]]``."""
    return Field(
        default=BUILTIN_MODELS,
        json_schema_extra=explain(
            "must be an array of tables, written [[fal.models]]", item="must be a table"
        ),
    )


def check_models(models: tuple[FalModelSettings, ...]) -> tuple[FalModelSettings, ...]:
    """At least one model, at most ``MAX_MODELS`` (Discord's choice limit), each name once."""
    if not models:
        raise reject("must list at least one model (leave [[fal.models]] out for the built-in ones)")
    if len(models) > MAX_MODELS:
        raise reject(
            f"may list at most {MAX_MODELS} models, one per choice Discord shows (got {len(models)})"
        )
    seen: dict[str, int] = {}
    for index, model in enumerate(models):
        if model.name in seen:
            raise reject(
                f'each name may be listed once (entries [{seen[model.name]}] and [{index}] are both "{model.name}")'
            )
        seen[model.name] = index
    return models


def check_default(name: str, models: tuple[FalModelSettings, ...]) -> str:
    """The default is a listed model serving both text- and image-to-video (/pika create and animate)."""
    name = name.strip()
    found = next((model for model in models if model.name == name), None)
    if found is None:
        listed = ", ".join(f'"{model.name}"' for model in models)
        raise reject(f"must name one of the [[fal.models]]: {listed} (got {show_value(name)})")
    if not (found.serves(FalEndpoint.TEXT_TO_VIDEO) and found.serves(FalEndpoint.IMAGE_TO_VIDEO)):
        raise reject(
            f"must name a model with text_to_video and image_to_video: /pika create and /pika animate run "
            f'on it (got "{name}")'
        )
    return name


@dataclass(frozen=True)
class FalCatalogue:
    """The configured models and the default: which model runs a request, by name or by kind."""

    models: tuple[FalModelSettings, ...] = BUILTIN_MODELS
    default: str = DEFAULT_MODEL

    def named(self, name: str) -> FalModelSettings | None:
        """The model of that name; None when none is configured."""
        return next((model for model in self.models if model.name == name), None)

    def names_serving(self, *endpoints: FalEndpoint) -> tuple[str, ...]:
        """The names of the models with any of those endpoints, in the configured order."""
        return tuple(m.name for m in self.models if any(m.serves(e) for e in endpoints))

    def default_for(self, endpoint: FalEndpoint) -> FalModelSettings | None:
        """The default model if it serves ``endpoint``, else the first listed model that does."""
        default = self.named(self.default)
        if default is not None and default.serves(endpoint):
            return default
        return next((model for model in self.models if model.serves(endpoint)), None)

    def default_name(self, kind: JobKind) -> str | None:
        """The model a command runs on when the member picks none; None when no model serves it.

        /pika scenes and /pika frames run on the default model when it has them (only v2.2 does
        today), else on the first listed model that has them; create and animate on the default.
        """
        endpoint = {JobKind.SCENES: FalEndpoint.PIKASCENES, JobKind.FRAMES: FalEndpoint.PIKAFRAMES}.get(kind)
        if endpoint is None:
            return self.default
        model = self.default_for(endpoint)
        return model.name if model is not None else None


class FalSettings(BaseModel):
    """``[fal]``: Pika on fal.ai's queue, configured once a key is set (``FAL_KEY``), and its models."""

    model_config = STRICT

    key: Secret = Field(default=None, json_schema_extra=explain("must be a string"))
    base_url: str = Field(
        default="https://queue.fal.run",
        json_schema_extra=explain('must be an http(s) URL, e.g. "https://queue.fal.run"'),
    )
    rest_base_url: str = Field(
        default="https://rest.fal.ai",
        json_schema_extra=explain('must be an http(s) URL, e.g. "https://rest.fal.ai"'),
    )
    jwks_url: str = Field(
        default="https://rest.fal.ai/.well-known/jwks.json",
        json_schema_extra=explain('must be an http(s) URL, e.g. "https://rest.fal.ai/.well-known/jwks.json"'),
    )
    max_jobs: int = Field(
        default=2, ge=1, le=40, json_schema_extra=explain("must be a whole number from 1 to 40")
    )
    # Declared before default_model, which is checked against it.
    models: FalModels = models_field()
    default_model: str = Field(
        default=DEFAULT_MODEL, json_schema_extra=explain('must be a model name, e.g. "v2.2"')
    )

    @field_validator("base_url", "rest_base_url", "jwks_url")
    @classmethod
    def _check_urls(cls, value: str) -> str:
        return check_url(value.strip(), HTTP, '"https://queue.fal.run"').rstrip("/")

    @field_validator("models")
    @classmethod
    def _check_models(cls, models: tuple[FalModelSettings, ...]) -> tuple[FalModelSettings, ...]:
        return check_models(models)

    @field_validator("default_model")
    @classmethod
    def _check_default_model(cls, name: str, info: ValidationInfo) -> str:
        models = info.data.get("models")
        return check_default(name, models) if isinstance(models, tuple) else name

    @property
    def enabled(self) -> bool:
        """True when a key is set: the provider is built and commands routed to it answer."""
        return self.key is not None

    @property
    def catalogue(self) -> FalCatalogue:
        """The models and the default, as the Discord layer and the provider ask them."""
        return FalCatalogue(self.models, self.default_model)
