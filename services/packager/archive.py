"""Images into object storage, then one zip streamed from them into object storage.

Keys are deterministic (`jobs/<id>/images/<position>.<ext>`, `jobs/<id>/images.zip`), so a job redone
after a crash overwrites its own objects instead of adding new ones.
"""

from __future__ import annotations

import shutil
import zipfile
from datetime import UTC
from typing import Any

from services.packager.download import Downloaded, StoredImage
from services.packager.manifest import Plan, manifest_csv, manifest_json
from services.packager.verify import COMPRESSED_EXTENSIONS
from shared.domain.model import Job
from shared.ports import BlobStore

COPY_BUFFER = 256 * 1024


def images_prefix(job_id: str) -> str:
    # The trailing slash keeps `images.zip` out of the prefix.
    return f"jobs/{job_id}/images/"


def image_key(job_id: str, position: int, ext: str) -> str:
    return f"{images_prefix(job_id)}{position:04d}.{ext}"


def store_image(blobs: BlobStore, job_id: str, image: Downloaded) -> StoredImage:
    """Copy a verified image from its temporary file into object storage, keyed by its link position."""
    key = image_key(job_id, image.link.position, image.info.ext)
    with open(image.fetched.path, "rb") as source, blobs.writer(key) as target:
        shutil.copyfileobj(source, target, COPY_BUFFER)
    return StoredImage(
        link=image.link,
        key=key,
        ext=image.info.ext,
        content_type=image.info.content_type,
        width=image.info.width,
        height=image.info.height,
        size=image.fetched.size,
        sha256=image.fetched.sha256,
        phash=image.phash,
    )


def _info(job: Job, name: str, compress: int, size: int | None = None) -> zipfile.ZipInfo:
    # The job's creation time, not now: a redone job writes a byte-identical zip.
    stamp = job.created_at.astimezone(UTC)
    info = zipfile.ZipInfo(
        name, date_time=(max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    )
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    if size is not None:
        # Known up front, so zipfile picks ZIP64 fields only when an entry needs them.
        info.file_size = size
    return info


def write_zip(blobs: BlobStore, job: Job, package: Plan, engine_filters: dict[str, Any] | None = None) -> int:
    """Stream the images (read back from object storage) and the manifests into the job's zip
    (`engine_filters`: what each engine was given of the job's filters, for manifest.json).

    Works on a non-seekable writer too: zipfile then writes data descriptors after each entry.
    Returns the zip's size in bytes.
    """
    with blobs.writer(job.zip_key) as stream, zipfile.ZipFile(stream, "w", allowZip64=True) as archive:
        for entry in package.entries:
            image = entry.image
            compress = zipfile.ZIP_STORED if image.ext in COMPRESSED_EXTENSIONS else zipfile.ZIP_DEFLATED
            with archive.open(_info(job, entry.name, compress, image.size), "w") as member:
                for chunk in blobs.read(image.key):
                    member.write(chunk)
        archive.writestr(_info(job, "manifest.csv", zipfile.ZIP_DEFLATED), manifest_csv(package))
        archive.writestr(_info(job, "manifest.json", zipfile.ZIP_DEFLATED), manifest_json(job, package, engine_filters))
    size = blobs.size(job.zip_key)
    if size is None:
        raise RuntimeError(f"the zip of job {job.id} is missing right after writing it")
    return size


def delete_images(blobs: BlobStore, job_id: str) -> int:
    """The single images, once the zip holds them (or the job failed); idempotent."""
    return blobs.delete_prefix(images_prefix(job_id))
