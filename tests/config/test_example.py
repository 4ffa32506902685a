"""config.example.toml stays true: its defaults, its keys, and the providers and routes it implies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import BaseModel

from bot.config import RoutingSettings, Settings, UseapiAccount, render_settings
from bot.domain.jobs import JobKind
from bot.providers.registry import routes_from
from tests.helpers.config_files import CHANNEL, load, problems, write

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config.example.toml"


# --- config.example.toml stays true ----------------------------------------------------------------------


def _uncommented_example() -> str:
    """The example with its commented-out [[useapi.accounts]] block switched on."""
    text = EXAMPLE.read_text(encoding="utf-8")
    return re.sub(r"(?m)^# (\[\[useapi\.accounts\]\]|channel = |max_jobs = )", r"\1", text)


def _key_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for name, field in model.model_fields.items():
        inner = next(
            (arg for arg in (field.annotation, *getattr(field.annotation, "__args__", ())) if _is_model(arg)),
            None,
        )
        if inner is not None:
            paths |= _key_paths(inner, f"{prefix}{name}.")
        else:
            paths.add(prefix + name)
    return paths


def _is_model(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _toml_paths(table: dict[str, object], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for key, value in table.items():
        if isinstance(value, dict):
            paths |= _toml_paths(value, f"{prefix}{key}.")
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            for item in value:
                paths |= _toml_paths(item, f"{prefix}{key}.")
        else:
            paths.add(prefix + key)
    return paths


def test_example_config_loads_as_defaults() -> None:
    """config.example.toml is valid and shows the real defaults."""
    assert load(EXAMPLE, env={}) == Settings()


def test_example_config_documents_every_key(tmp_path: Path) -> None:
    """Every settings key appears in the example (accounts as a commented block that also loads)."""
    text = _uncommented_example()
    settings = load(write(tmp_path, text), env={})
    assert settings.useapi.accounts == (UseapiAccount(channel=CHANNEL, max_jobs=10),)
    assert _toml_paths(tomllib.loads(text)) == _key_paths(Settings)


def test_example_config_has_blank_secrets() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert data["discord"]["token"] == "" and data["useapi"]["token"] == ""
    assert "DISCORD_TOKEN" in EXAMPLE.read_text(encoding="utf-8")


def test_apiglue_is_off_until_a_token_is_set(tmp_path: Path) -> None:
    """[apiglue] needs APIGLUE_TOKEN (or token) to be enabled; the token is a masked secret."""
    assert not load(None, env={}).apiglue.enabled
    settings = load(None, env={"APIGLUE_TOKEN": "glue-secret-123"})
    assert settings.apiglue.enabled
    assert "glue-secret-123" in settings.secrets()
    assert "glue-secret-123" not in render_settings(settings)
    assert settings.apiglue.base_url == "https://api.pikapikapika.io"


def test_fal_and_routing() -> None:
    """[fal] is off until FAL_KEY is set; [routing] only names providers that serve the command."""
    assert not load(None, env={}).fal.enabled
    settings = load(None, env={"FAL_KEY": "key-id:key-secret"})
    assert settings.fal.enabled and "key-id:key-secret" in settings.secrets()
    assert "key-id:key-secret" not in render_settings(settings)
    assert (settings.routing.create, settings.routing.scenes) == ("auto", "auto")


def test_routing_names_only_providers_that_serve_the_command(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, '[routing]\nscenes = "useapi"\n')
    assert found == 'routing.scenes: must be "auto" or "fal" (got "useapi")'


def test_auto_routes_go_to_the_first_keyed_provider_that_serves_the_command() -> None:
    """fal.ai, then useapi.net, then API Glue; a command no keyed provider serves names the live route."""
    kinds = (JobKind.CREATE, JobKind.ANIMATE, JobKind.SCENES, JobKind.FRAMES)

    def routes(env: dict[str, str]) -> tuple[str, ...]:
        found = routes_from(load(None, env=env))
        return tuple(found[kind] for kind in kinds)

    assert routes({"FAL_KEY": "k:s"}) == ("fal", "fal", "fal", "fal")
    assert routes({"USEAPI_TOKEN": "user:1"}) == ("useapi", "useapi", "fal", "fal")
    assert routes({"APIGLUE_TOKEN": "glue"}) == ("apiglue", "apiglue", "fal", "fal")
    assert routes({"USEAPI_TOKEN": "user:1", "FAL_KEY": "k:s"}) == ("fal", "fal", "fal", "fal")
    assert routes({}) == ("fal", "fal", "fal", "fal")
    chosen = Settings(routing=RoutingSettings(create="useapi"))
    assert routes_from(chosen)[JobKind.CREATE] == "useapi"
