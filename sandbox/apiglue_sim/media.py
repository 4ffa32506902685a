"""The result media: ``GET /videos/<id>/<name>.mp4`` and ``GET /images/<id>/{poster,thumbnail}.jpg``."""

from __future__ import annotations

from aiohttp import web

from sandbox.apiglue_sim.constants import MEDIA_GONE, MEDIA_IMAGES, POSTER_JPEG
from sandbox.apiglue_sim.records import SimJob, VideoStatus
from sandbox.apiglue_sim.state import GlueState


class MediaLayer(GlueState):
    """Serving a finished video's file, poster and thumbnail."""

    def _finished_job(self, video_id: str) -> SimJob | None:
        job = self.jobs.get(video_id)
        if job is None or job.status is not VideoStatus.FINISHED or self.faults.expire_results:
            return None
        return job

    async def _video(self, request: web.Request) -> web.StreamResponse:
        job = self._finished_job(request.match_info["video_id"])
        if job is None or request.match_info["filename"] != job.filename:
            return web.Response(status=404, text=MEDIA_GONE)
        return web.Response(body=self.video, content_type="video/mp4")

    async def _image(self, request: web.Request) -> web.StreamResponse:
        job = self._finished_job(request.match_info["video_id"])
        if job is None or request.match_info["filename"] not in MEDIA_IMAGES:
            return web.Response(status=404, text=MEDIA_GONE)
        return web.Response(body=POSTER_JPEG, content_type="image/jpeg")
