"""A member's own defaults (/pika defaults): used for the options they leave out of a command."""

from __future__ import annotations

from dataclasses import dataclass, replace

#: The options a member may set a default for, in the order they are shown.
DEFAULTABLE = ("aspect_ratio", "resolution", "model", "negative")


@dataclass(frozen=True)
class MemberDefaults:
    """One member's defaults; None means "none of mine: the command's own default"."""

    aspect_ratio: str | None = None
    resolution: str | None = None
    model: str | None = None
    negative: str | None = None
    ping: bool = True  # whether their results and notices mention them

    def changed(self, **given: object) -> MemberDefaults:
        """These defaults with the given (not None) values set; the others kept."""
        return replace(self, **{name: value for name, value in given.items() if value is not None})

    def values(self) -> dict[str, str]:
        """The set option defaults by name (ping apart), in DEFAULTABLE's order."""
        return {name: value for name in DEFAULTABLE if (value := getattr(self, name)) is not None}

    def lines(self) -> list[str]:
        """What /pika defaults shows, one line per default."""
        shown = [f"**{name.replace('_', ' ')}**: `{value}`" for name, value in self.values().items()]
        shown.append(f"**ping me when a video is ready**: {'yes' if self.ping else 'no'}")
        return shown
