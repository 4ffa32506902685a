"""Constants taken from the docs (useapi.net's Pika pages, docs/useapi-pika.md section 1), and the
simulator's own fixed values.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Final

DEFAULT_CHANNEL: Final = "1183508299895820390"


DEFAULT_DISCORD: Final = "MTEsim-discord-tokenxYz"


#: Discord user id Pika mentions in its messages (illustrative; cf. docs/useapi-pika.md section 3).
PIKA_USER: Final = "1100000000000000000"


DISCORD_EPOCH_MS: Final = 1_420_070_400_000


MAX_PROMPT: Final = 1500


MAX_REPLY: Final = 1024


MAX_MESSAGE_TEXT: Final = 20


MAX_JOBS_LIMIT: Final = 10


FONTS: Final = ("MODERN", "COMICS", "SANS SERIF", "BAUHAUS", "RETRO")


BASE_FLAGS: Final = frozenset({"gs", "neg", "ar", "seed", "motion", "fps", "camera"})


ENCRYPT_FLAGS: Final = BASE_FLAGS | {"w", "size"}


ERR_UNAUTHORIZED: Final = "Unauthorized"


ERR_EXPIRED: Final = "Account has no subscription or subscription expired"


ERR_MODERATED: Final = "Sorry, your input may be inconsistent with server rules."


ERR_INVALID_PARAM: Final = "Invalid parameter"


ERR_TOO_LONG: Final = "prompt, replyRef or replyUrl is too long"


ERR_NO_JOBID: Final = "Query param jobid not provided"


ERR_DISCORD_429: Final = "Discord /interactions failed with HTTP status 429"


DISCORD_429_DETAILS: Final = '{"global":true,"message":"You are being rate limited.","retry_after":10}'


ERR_JOB_FAILED: Final = "Pika job failed"


CDN_GONE: Final = "This content is no longer available."


ASSETS_DIR: Final = Path(__file__).parent.parent / "assets"


SAMPLE_VIDEO: Final = ASSETS_DIR / "sample.mp4"


# Real pixel size of assets/sample.mp4, reported in attachments so the metadata matches the bytes.
SAMPLE_WIDTH: Final = 128


SAMPLE_HEIGHT: Final = 72


HUGE_BODY_BYTES: Final = 5 * 1024 * 1024


CLIENT_MAX_SIZE: Final = 64 * 1024 * 1024


dumps = functools.partial(json.dumps, ensure_ascii=False)


FLAG_RE: Final = re.compile(r"(?:^|\s)--?([A-Za-z][A-Za-z_]*)(?=\s|$)")


SEED_RE: Final = re.compile(r"(?:^|\s)--?seed\s+(\d+)")


CHANNEL_RE: Final = re.compile(r"^\d{17,20}$")
