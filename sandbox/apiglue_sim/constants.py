"""Constants taken from the docs (API Glue's guide, docs/apiglue-pika.md), and the simulator's own
fixed values.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final

#: Account and user ids shaped like the seed's examples.
DEFAULT_ACCOUNT_ID: Final = "zx234I5GukOugL1vcG2Mf"
DEFAULT_USER_ID: Final = "92b68ee2-a71d-4500-1234-4eea210d0cac"

ASPECT_RATIOS: Final = ("16:9", "9:16", "1:1", "5:2", "4:5", "4:3")
# UNCONFIRMED: the docs do not say whether aspectRatio is required; absent means the seed's 16:9.
DEFAULT_ASPECT_RATIO: Final = "16:9"
# UNCONFIRMED value sets: the docs only show pan "right", tilt "up", rotate "cw", zoom "in"/"out".
CAMERA_VALUES: Final[Mapping[str, tuple[str, ...]]] = {
    "rotate": ("cw", "ccw"),
    "zoom": ("in", "out"),
    "tilt": ("up", "down"),
    "pan": ("left", "right"),
}
FRAME_RATE_RANGE: Final = (1, 24)
MOTION_RANGE: Final = (1, 4)
GUIDANCE_RANGE: Final = (5, 25)
# UNCONFIRMED: no published limit; generous enough for any real prompt.
MAX_PROMPT: Final = 2000

BASE_DURATION: Final = 3
EXTEND_SECONDS: Final = 4
# A reseller notes a 15 s maximum: 3 + 4 + 4 + 4.
MAX_EXTENDS: Final = 3
MAX_DURATION: Final = BASE_DURATION + MAX_EXTENDS * EXTEND_SECONDS

# UNCONFIRMED texts: API Glue's error bodies were never published.
ERR_UNAUTHORIZED: Final = "Unauthorized"
ERR_EXPIRED: Final = "Payment required: subscription expired or out of credits"
ERR_MODERATED: Final = "Prompt flagged by moderation"
ERR_BUSY: Final = "Too many jobs in progress for this account"
ERR_RATE_LIMITED: Final = "Too Many Requests"
ERR_NOT_FOUND: Final = "Job not found"
ERR_BODY: Final = "body must be a JSON object"
ERR_JOB_FAILED: Final = "Video generation failed"
ERR_BAD_VIDEO: Final = "video must be the resultUrl of a finished Pika video"
ERR_EXTEND_CAP: Final = f"video can't be extended beyond {MAX_DURATION} seconds"
ERR_ALREADY_UPSCALED: Final = "video is already upscaled"
MEDIA_GONE: Final = "Not Found"

ASSETS_DIR: Final = Path(__file__).parent.parent / "assets"
SAMPLE_VIDEO: Final = ASSETS_DIR / "sample.mp4"
#: The first frame of assets/sample.mp4 as a 128x72 JPEG, served as videoPoster and imageThumb.
POSTER_JPEG: Final = base64.b64decode(
    "/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAg+Pkk+SVVVVVVVVWRdZGhoaGRkZGRoaGhwcHCD"
    "g4NwcHBoaHBwfHyDg4+Tj4eHg4eTk5ubm7q6srLZ2eD/////xACJAAEAAgIDAQAAAAAAAAAAAAAABgcFCAIBBAMBAAMAAwEB"
    "AQAAAAAAAAAAAAgGBwUEAAIBAxABAAIBAQYFAwUBAQAAAAAAAAECEQNRcSFBExKRobEx0YEEM7JywUIjUmERAAIBAgQFBAMB"
    "AQAAAAAAAAABAgNBURHRBKFhgTEh8BITFMEignEz/8AAEQgASACAAwEiAAIRAAMRAP/aAAwDAQACEQMRAD8A1/AccWasDTpi"
    "M82F0q5nOxPn2nG553lZ/wDOP9aFbgKkW4rMA2EANxQAADQVmAayAENpft3LVUWnWjblP0U6nKxfN3RzXvXdd+ax6GwAD9zG"
    "mgAMrp17r1rPOYjxlxxsZSO2sMi5OjQvBDJP3Nt3eZWoBsDeKzANZADcUAAA0FZgxk3rGYzxjOa8c8Pfj7cN5wSb7EKSb7LM"
    "gj0xOJy87kZg22s/BtfE54w+qFfbW7tGm7HhOE1NRBDQBINH8lP3V9UfZnTmK3rM+0WifNx9NmgDWD+VqAaQ6yswDWQA3FAA"
    "ANBWapZz1dT2z/py/wDLZ4ZW08k1ieUb+fj779qjQko55kgpzUc87kAAb4ZReX2v4afX9UrBQb7aJjRpnf4zlOTWD+aOdO2x"
    "6+jfZ6LBqmVSm6jWA9SpJYmdrE4jPvzdSy8OEtH7EsFx1JBOjFYlYdltj59ltidywZlW5m7R46mdlupq0eOpU/Svs9HLo32e"
    "cLhemFAjXk7L11Jz8suXrqSjvrHNj+rTb5SjNkEsUFtIO8uGgwRrSeHrqZ7qV2+vw4dSu31+FcS6g2fUhjLhoe40ovEzTlgh"
    "k3h0Iq7CQjLMuiurpViIieEcI4T8PV19P/ryn4UK6YGXgw/wx5lTuINcmZZq0aX7t6rkn0vdj6b/AG/0cN3BSpuV49jyjoWM"
    "eiswDUQA3EdgAUaiswDSQAg1azaVoRGEQ0f7fT+U0V+mvGZSt5Nup7bL8lmgNUYT/9k="
)
MEDIA_IMAGES: Final = ("poster.jpg", "thumbnail.jpg")

#: Hosts the simulator will fetch an ``image`` URL from; any other host is only recorded.
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
HUGE_BODY_BYTES: Final = 5 * 1024 * 1024
CLIENT_MAX_SIZE: Final = 16 * 1024 * 1024
JSON_HEADERS: Final = {"Content-Type": "application/json"}


dumps = functools.partial(json.dumps, ensure_ascii=False)
SLUG_RE: Final = re.compile(r"[^a-z0-9]+")
