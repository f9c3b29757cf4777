"""Near-duplicates: the perceptual hash, and how the plan uses it (only when asked to)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from services.packager.download import FailedImage, StoredImage
from services.packager.manifest import manifest_csv
from services.packager.planning import plan
from services.packager.similar import SIDE, distance, hash_pixels, perceptual_hash
from shared.domain.model import Link
from tests.fakeweb.images import padded, render

THRESHOLD = 8  # the default of IMGJOB_NEAR_DUPLICATE_DISTANCE


def _hash(tmp_path: Path, data: bytes) -> int:
    path = tmp_path / "image"
    path.write_bytes(data)
    return perceptual_hash(path)


@pytest.mark.parametrize("n", [1, 7, 42])
def test_the_same_picture_resized_or_re_encoded_is_near(tmp_path: Path, n: int) -> None:
    original = _hash(tmp_path, render(n, "jpg"))
    variants = {
        "png": render(n, "png"),
        "webp": render(n, "webp"),
        "gif (256 colours)": render(n, "gif"),
        "jpeg at 300 px": render(n, "jpg", 300),
        "png at 400 px": render(n, "png", 400),
        "padded jpeg": padded(n, "jpg", 200, 40),
    }
    distances = {name: distance(original, _hash(tmp_path, data)) for name, data in variants.items()}
    assert all(d <= THRESHOLD for d in distances.values()), distances
    assert distances["padded jpeg"] == 0, "the same pixels give the same hash"


def test_different_pictures_are_far(tmp_path: Path) -> None:
    hashes = [_hash(tmp_path, render(n, "jpg")) for n in range(1, 61)]
    closest = min(distance(a, b) for a, b in itertools.combinations(hashes, 2))
    assert closest > THRESHOLD + 2


def test_hash_of_flat_and_split_pictures() -> None:
    flat = hash_pixels([128] * (SIDE * SIDE))
    left_dark = hash_pixels([0 if x < SIDE // 2 else 255 for _ in range(SIDE) for x in range(SIDE)])
    top_dark = hash_pixels([0 if y < SIDE // 2 else 255 for y in range(SIDE) for _ in range(SIDE)])
    assert distance(left_dark, top_dark) > 16
    assert distance(flat, flat) == 0
    with pytest.raises(ValueError):
        hash_pixels([0] * 10)


def test_undecodable_pixels_raise(tmp_path: Path) -> None:
    data = render(3, "png")
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(OSError):
        perceptual_hash(path)


def _stored(position: int, sha: str, phash: int | None, ext: str = "jpg") -> StoredImage:
    link = Link(position=position, url=f"https://img.example/{position}.{ext}")
    return StoredImage(link, f"k/{position}", ext, "image/jpeg", 10, 10, 100 + position, sha, phash)


def test_plan_drops_near_duplicates_only_when_asked() -> None:
    base = 0xF0F0_F0F0_0F0F_0F0F
    outcomes = [
        _stored(4, "d", base ^ 0b111),  # 3 bits from position 1: a near duplicate
        _stored(1, "a", base),
        _stored(2, "b", base ^ (2**40 - 1)),  # 40 bits away: another picture
        _stored(3, "a", base ^ 0xFFFF),  # identical bytes to position 1, whatever its hash
        FailedImage(Link(position=5, url="https://img.example/5.jpg"), "HTTP 404"),
        _stored(6, "e", None),  # no hash (pixels did not decode): never a near duplicate
        _stored(7, "f", base ^ (1 << 63) ^ (1 << 5)),  # 2 bits from position 1
    ]
    without = plan(outcomes)
    assert [e.image.link.position for e in without.entries] == [1, 2, 4, 6, 7]
    assert [(d.image.link.position, d.same_as, d.distance) for d in without.duplicates] == [(3, "0001.jpg", None)]

    near = plan(outcomes, near_distance=THRESHOLD)
    assert [(e.name, e.image.link.position) for e in near.entries] == [
        ("0001.jpg", 1),
        ("0002.jpg", 2),
        ("0003.jpg", 6),
    ]
    assert [(d.image.link.position, d.same_as, d.distance) for d in near.duplicates] == [
        (3, "0001.jpg", None),
        (4, "0001.jpg", 3),
        (7, "0001.jpg", 2),
    ]
    assert [f.link.position for f in near.failures] == [5]

    rows = manifest_csv(near).decode("utf-8-sig").splitlines()
    assert rows[4].startswith("duplicate,,0001.jpg,4,") and rows[4].endswith(
        ",looks like 0001.jpg (perceptual distance 3 of 64)"
    )
    assert rows[3].endswith(",same image as 0001.jpg")
