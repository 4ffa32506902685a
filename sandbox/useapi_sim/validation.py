"""Request parsing and validation: each verb's spec, the multipart form, and the checks a submit
passes before a job is made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from aiohttp import web

from sandbox.useapi_sim.constants import (
    BASE_FLAGS,
    ENCRYPT_FLAGS,
    ERR_TOO_LONG,
    FONTS,
    MAX_JOBS_LIMIT,
    MAX_MESSAGE_TEXT,
    MAX_PROMPT,
    MAX_REPLY,
    PIKA_USER,
)
from sandbox.useapi_sim.errors import api_error
from sandbox.useapi_sim.records import FileInfo, RecordedFile, RecordedRequest, Verb


@dataclass(frozen=True)
class VerbSpec:
    """Field rules of one submit endpoint (docs/useapi-pika.md 1.3)."""

    endpoint: str
    verb: Verb
    required_text: tuple[str, ...]
    required_files: tuple[str, ...]
    optional_files: tuple[str, ...]
    missing_error: str
    too_long_error: str
    allowed_flags: frozenset[str]


SPECS: Final = {
    spec.endpoint: spec
    for spec in (
        VerbSpec(
            "create",
            Verb.CREATE,
            ("prompt",),
            (),
            ("image",),
            "prompt, discord or channel value is missing",
            ERR_TOO_LONG,
            BASE_FLAGS,
        ),
        VerbSpec(
            "animate",
            Verb.ANIMATE,
            (),
            ("image",),
            (),
            "image, discord or channel value is missing",
            ERR_TOO_LONG,
            BASE_FLAGS,
        ),
        VerbSpec(
            "encrypt_text",
            Verb.ENCRYPT_TEXT,
            ("message", "prompt"),
            (),
            ("image",),
            "message, prompt, discord or channel value is missing",
            # UNCONFIRMED text: the encrypt_text page's 400 list was not recovered; same style.
            "message, prompt, replyRef or replyUrl is too long",
            ENCRYPT_FLAGS,
        ),
        VerbSpec(
            "encrypt_image",
            Verb.ENCRYPT_IMAGE,
            ("prompt",),
            ("message",),
            ("image",),
            "message, prompt, discord or channel value is missing",
            ERR_TOO_LONG,
            ENCRYPT_FLAGS,
        ),
        VerbSpec(
            "button",
            Verb.BUTTON,
            ("jobid", "button"),
            (),
            (),
            "jobid or button value is missing",
            "replyRef or replyUrl is too long",
            BASE_FLAGS,
        ),
    )
}


@dataclass
class SubmitForm:
    """A parsed multipart body: text parts and file parts (first occurrence of each name wins)."""

    texts: dict[str, str] = field(default_factory=dict)
    files: dict[str, FileInfo] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        """The text value, or None when absent or blank."""
        value = self.texts.get(name)
        return value if value is not None and value.strip() else None


@dataclass(frozen=True)
class Target:
    """The account a job runs on."""

    discord: str
    channel: str
    max_jobs: int
    reply_url: str


async def read_form(request: web.Request, record: RecordedRequest | None) -> SubmitForm:
    """Read a multipart body into a SubmitForm and note field names/values in the request record."""
    form = SubmitForm()
    post = await request.post()
    for name, value in post.items():
        if isinstance(value, web.FileField):
            data = value.file.read()
            content_type = value.content_type or "application/octet-stream"
            if record is not None and name not in record.files:
                record.files[name] = RecordedFile(value.filename, content_type, len(data))
            form.files.setdefault(name, FileInfo(len(data), content_type))
        else:
            text = value if isinstance(value, str) else bytes(value).decode("utf-8", "replace")
            if record is not None and name not in record.fields:
                record.fields[name] = text
            form.texts.setdefault(name, text)
    return form


def validate_form(spec: VerbSpec, form: SubmitForm) -> None:
    """Apply the documented 400 checks in the docs' order: missing, not File/Blob, too long, values."""
    missing_text = any(form.text(name) is None for name in spec.required_text)
    missing_file = any(n not in form.files and n not in form.texts for n in spec.required_files)
    if missing_text or missing_file:
        raise api_error(400, spec.missing_error)
    for name in (*spec.required_files, *spec.optional_files):
        if name in form.texts and name not in form.files:
            raise api_error(400, f"{name} is not File or Blob")
    if _too_long(spec, form):
        raise api_error(400, spec.too_long_error)
    font = form.text("font")
    if spec.verb is Verb.ENCRYPT_TEXT and font is not None and font.upper() not in FONTS:
        # UNCONFIRMED text, mirrors "button <button> not supported".
        raise api_error(400, f"font {font} not supported")
    button = form.text("button")
    if spec.verb is Verb.BUTTON and button is not None and button != "retry":
        raise api_error(400, f"button {button} not supported")
    parse_max_jobs(form)


def _too_long(spec: VerbSpec, form: SubmitForm) -> bool:
    limits = {"replyRef": MAX_REPLY, "replyUrl": MAX_REPLY}
    if spec.verb is not Verb.BUTTON:
        limits["prompt"] = MAX_PROMPT
    if spec.verb is Verb.ENCRYPT_TEXT:
        limits["message"] = MAX_MESSAGE_TEXT
    return any(len(form.texts.get(name, "")) > limit for name, limit in limits.items())


def parse_max_jobs(form: SubmitForm) -> int | None:
    """The optional ``maxJobs`` override (1..10)."""
    raw = form.text("maxJobs")
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_JOBS_LIMIT:
        # UNCONFIRMED text; the docs only state the 1-10 range.
        raise api_error(400, f"maxJobs {raw} must be a number between 1 and {MAX_JOBS_LIMIT}")
    return value


def content_details(job_prompt: str | None, form: SubmitForm, font: str | None) -> str:
    """The "(Prompt: …  Image: 1 Attachment  Author: <@u>)" part of Pika's messages."""
    parts: list[str] = []
    if job_prompt:
        parts.append(f"Prompt: {job_prompt}")
    message_text = form.text("message")
    if "message" in form.files:
        parts.append("Message: 1 Attachment")
    elif message_text is not None:
        parts.append(f"Message: {message_text}" + (f" (Font: {font})" if font else ""))
    if "image" in form.files:
        parts.append("Image: 1 Attachment")
    parts.append(f"Author: <@{PIKA_USER}>")
    return "  ".join(parts)
