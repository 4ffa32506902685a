"""Which fal model and endpoint a request runs on: the member's ``model`` (or the default) and the
kind of request (text-to-video, image-to-video, pikascenes, pikaframes). Pure: no I/O.

The models come from the config (``[[fal.models]]``, ``bot.config.fal_models``); the Discord layer
stores the chosen model's name with the job, so a Retry runs on the same model. Facts:
docs/fal-pika.md section 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bot.config import FalCatalogue, FalEndpoint, FalModelSettings
from bot.domain.jobs import JobKind
from bot.domain.params import ParamName, VideoParams
from bot.domain.prompt import PromptError

NAME: Final = "fal.ai"

#: How members read an endpoint's kind.
ENDPOINT_NAMES: Final = {
    FalEndpoint.TEXT_TO_VIDEO: "text-to-video",
    FalEndpoint.IMAGE_TO_VIDEO: "image-to-video",
    FalEndpoint.PIKASCENES: "Pikascenes",
    FalEndpoint.PIKAFRAMES: "Pikaframes",
}


@dataclass(frozen=True)
class FalRoute:
    """The model a request runs on and the kind of endpoint it needs of it."""

    model: FalModelSettings
    endpoint: FalEndpoint

    @property
    def endpoint_id(self) -> str:
        """The fal endpoint id the request is POSTed to, e.g. ``fal-ai/pika/v2.1/text-to-video``."""
        return self.model.endpoint(self.endpoint)

    @property
    def title(self) -> str:
        """The model and endpoint as members read them, e.g. ``v2.1 image-to-video``."""
        return f"{self.model.name} {ENDPOINT_NAMES[self.endpoint]}"


def endpoint_for(kind: JobKind, image_count: int) -> FalEndpoint:
    """The kind of endpoint a command needs: /pika create is text-to-video unless an image is attached."""
    if kind is JobKind.SCENES:
        return FalEndpoint.PIKASCENES
    if kind is JobKind.FRAMES:
        return FalEndpoint.PIKAFRAMES
    if kind is JobKind.ANIMATE or image_count:
        return FalEndpoint.IMAGE_TO_VIDEO
    return FalEndpoint.TEXT_TO_VIDEO


def route_for(catalogue: FalCatalogue, kind: JobKind, params: VideoParams, image_count: int) -> FalRoute:
    """The member's model (or the default for the command) and the endpoint the request needs.

    Raises PromptError naming the ``model`` option when the model is not configured here or has no
    endpoint of that kind (e.g. v2 turbo has no Pikascenes).
    """
    endpoint = endpoint_for(kind, image_count)
    field = ParamName.MODEL.value
    if params.model is None:
        model = catalogue.default_for(endpoint)
        if model is None:
            raise PromptError(f"no {NAME} model on this bot has {ENDPOINT_NAMES[endpoint]}", field=field)
        return FalRoute(model, endpoint)
    model = catalogue.named(params.model)
    if model is None:
        offered = ", ".join(m.name for m in catalogue.models)
        raise PromptError(
            f"{NAME} has no model `{params.model}` on this bot (it offers {offered})", field=field
        )
    if not model.serves(endpoint):
        serving = catalogue.names_serving(endpoint)
        hint = f"; pick {' or '.join(serving)}" if serving else ""
        raise PromptError(f"{NAME}'s model {model.name} has no {ENDPOINT_NAMES[endpoint]}{hint}", field=field)
    return FalRoute(model, endpoint)
