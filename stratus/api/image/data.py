"""/v2/images/{id}/file: upload (PUT) and download (GET), both streamed.

Upload reads the request body block by block and feeds it to
:class:`stratus.image.upload.Upload` (one chunk in memory at a time); a client
that disconnects, or any error, aborts the upload and leaves the image
``queued`` with no data.  Download streams the image's chunks in order, or one
byte range of them (``Range: bytes=first-last``, answered 206).
"""
from __future__ import annotations

import logging

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse

from stratus.api.image import common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import image as m
from stratus.image import ranges
from stratus.image.upload import Upload

LOG = logging.getLogger(__name__)
routes = RouteTable()
UPLOAD_TYPES = ("application/octet-stream", "")


def _prepare_upload(req) -> Upload:
    with req.db.session() as s:
        img = c.visible_image(req, s)
        c.authorize_owner(req, "upload_image", img)
        if img.status != "queued":
            raise errors.Conflict(f"Image status transition from {img.status} to saving is "
                                  f"not allowed")
        if not img.disk_format or not img.container_format:
            raise errors.BadRequest("Properties disk_format and container_format must be set "
                                    "prior to uploading data.")
    return Upload(req.db, req.conf, c.store(req), img.id)


@routes.add("/v2/images/{image_id}/file", ["PUT"], stream=True)
async def upload(req):
    ctype = (req.headers.get("content-type") or "").split(";")[0].strip()
    if ctype not in UPLOAD_TYPES:
        raise errors.UnsupportedMediaType(f"Unsupported Content-Type {ctype}: image data is "
                                          f"uploaded as application/octet-stream.")
    up = await run_in_threadpool(_prepare_upload, req)
    length = req.headers.get("content-length")
    await run_in_threadpool(up.begin, int(length) if length and length.isdigit() else None)
    try:
        pending = bytearray()
        async for block in req.raw.stream():
            pending += block
            if len(pending) >= up.chunk_size:
                await run_in_threadpool(up.feed, bytes(pending))
                pending.clear()
        await run_in_threadpool(up.feed, bytes(pending))
        await run_in_threadpool(up.finish)
    except ClientDisconnect:
        LOG.info("upload of image %s interrupted by the client", up.image_id)
        await run_in_threadpool(up.abort)
        raise errors.BadRequest("The client disconnected before the upload was complete.")
    except BaseException:
        await run_in_threadpool(up.abort)
        raise
    return 204, None


def _prepare_download(req):
    with req.db.session() as s:
        img = c.visible_image(req, s)
        req.authorize("download_image", c.target(img))
        if img.status == "deactivated" and not req.ctx.is_admin:
            raise errors.Forbidden("The requested image has been deactivated. Image data "
                                   "download is forbidden.")
        if img.status != "active":
            return img, None
        chunk_list = [tuple(r) for r in s.execute(
            select(m.ImageChunk.digest, m.ImageChunk.size)
            .where(m.ImageChunk.image_id == img.id).order_by(m.ImageChunk.seq))]
        return img, chunk_list


@routes.add("/v2/images/{image_id}/file", ["GET"], stream=True)
async def download(req):
    img, chunk_list = await run_in_threadpool(_prepare_download, req)
    if chunk_list is None:
        return Response(status_code=204)
    size = img.size or 0
    try:
        wanted = ranges.parse(req.headers.get("range"), size)
    except ranges.Unsatisfiable:
        err = errors.APIError(f"Requested range not satisfiable: the image has {size} bytes.",
                              headers={"Content-Range": f"bytes */{size}"})
        err.status, err.title = 416, "Requested Range Not Satisfiable"
        raise err from None
    first, last = wanted if wanted else (0, size - 1)
    reads = ranges.pieces([n for _, n in chunk_list], first, last)
    store = c.store(req)

    async def body():
        for index, offset, length in reads:
            data = await run_in_threadpool(store.read, chunk_list[index][0])
            yield data[offset:offset + length] if (offset, length) != (0, len(data)) else data

    headers = {"Content-Length": str(last - first + 1 if size else 0)}
    status = 200
    if wanted:
        status = 206
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    elif img.checksum:
        headers["Content-MD5"] = img.checksum
    if req.method == "HEAD":
        return Response(status_code=status, headers=headers,
                        media_type="application/octet-stream")
    return StreamingResponse(body(), status_code=status, media_type="application/octet-stream",
                             headers=headers)
