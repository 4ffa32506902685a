"""A member's own defaults (/pika defaults): used for the options they leave out of a command."""

from __future__ import annotations

from dataclasses import dataclass

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

    def changed(self, given: MemberDefaults, ping: bool | None = None) -> MemberDefaults:
        """These defaults with the values set in `given` (and `ping` when given); the others kept."""
        return MemberDefaults(
            aspect_ratio=given.aspect_ratio or self.aspect_ratio,
            resolution=given.resolution or self.resolution,
            model=given.model or self.model,
            negative=given.negative or self.negative,
            ping=self.ping if ping is None else ping,
        )

    def values(self) -> dict[str, str]:
        """The set option defaults by name (ping apart), in DEFAULTABLE's order."""
        return {name: value for name in DEFAULTABLE if (value := getattr(self, name)) is not None}

    def lines(self) -> list[str]:
        """What /pika defaults shows, one line per default."""
        shown = [f"**{name.replace('_', ' ')}**: `{value}`" for name, value in self.values().items()]
        shown.append(f"**ping me when a video is ready**: {'yes' if self.ping else 'no'}")
        return shown
