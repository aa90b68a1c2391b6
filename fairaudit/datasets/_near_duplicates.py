"""Near-duplicate images: a 64-bit perceptual hash and an index of pairs within a distance.

Byte hashes miss copies that were resized or re-encoded (FairFace's train images in
``../shared/data`` are 112 px JPEG re-encodings, its val images the 224 px
originals). A DCT perceptual hash (pHash) keeps only the lowest spatial frequencies
of a 32 x 32 grayscale downscale, which resizing and JPEG compression barely change,
so copies land within a small Hamming distance of each other.

Pairs are found without comparing all pairs: the 64 bits are cut into
``max_distance + 1`` bands, and two hashes within ``max_distance`` bits must agree
exactly on at least one band (pigeonhole). Only hashes sharing a band value are
compared, by their exact Hamming distance.

A 64-bit hash of a face crop is not specific enough on its own: among FairFace's
45,000 images, pairs of different people already come within 4 bits. Candidate
pairs are therefore verified on the pixels: the Pearson correlation of the two
32 x 32 grayscale downscales (a re-encoded, resized copy correlates above 0.99 with
its original; two different faces of similar pose rarely above 0.9).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from PIL import Image
from tqdm.auto import tqdm

from fairaudit.datasets._label_table import images_of_label_table
from fairaudit.exceptions import DataValidationError
from fairaudit.schema import LABEL_COLUMNS

__all__ = [
    "DEFAULT_MAX_DISTANCE",
    "DEFAULT_MIN_CORRELATION",
    "find_near_duplicates",
    "hamming_pairs",
    "perceptual_hash",
    "perceptual_hashes",
]

#: Default largest Hamming distance (of 64 bits) between near-duplicates' hashes.
DEFAULT_MAX_DISTANCE = 6
#: Default smallest correlation of the grayscale downscales of a near-duplicate pair.
DEFAULT_MIN_CORRELATION = 0.95
#: Side of the grayscale downscale the DCT is taken of, and of the kept low band.
_SAMPLE, _LOW = 32, 8
_BATCH = 512


def _dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II matrix ``D`` (``D @ x`` is the DCT of the column ``x``)."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    d = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    d[0] /= np.sqrt(2.0)
    return d


_DCT_LOW = _dct_matrix(_SAMPLE)[:_LOW]


def _thumbnail(source: str | Image.Image) -> np.ndarray | None:
    """The 32 x 32 grayscale downscale of an image (None when it cannot be decoded)."""
    try:
        if isinstance(source, Image.Image):
            image = source.convert("L")
        else:
            with Image.open(source) as opened:
                # JPEG: decode at a reduced DCT scale, still >= 32 px (fast, and the
                # reduction averages pixels as a resize would)
                opened.draft("L", (_SAMPLE, _SAMPLE))
                image = opened.convert("L")
        small = image.resize((_SAMPLE, _SAMPLE), Image.Resampling.LANCZOS)
    except Exception:  # unreadable files are the integrity check's business
        return None
    return np.asarray(small, dtype=np.float32)


def _hash_thumbnails(pixels: np.ndarray) -> np.ndarray:
    """pHash of a stack of ``(n, 32, 32)`` thumbnails, as ``uint64``."""
    low = _DCT_LOW @ pixels.astype(np.float64) @ _DCT_LOW.T  # (n, 8, 8) lowest frequencies
    flat = low.reshape(len(pixels), _LOW * _LOW)
    # the DC term (mean brightness) is left out of the median: it is always the largest
    median = np.median(flat[:, 1:], axis=1, keepdims=True)
    bits = flat > median
    packed = np.packbits(bits, axis=1)  # (n, 8) bytes, most significant bit first
    return packed.view(">u8").ravel().astype(np.uint64)


def perceptual_hash(image: str | Image.Image) -> int:
    """64-bit DCT perceptual hash (pHash) of one image.

    Parameters
    ----------
    image : str or PIL.Image.Image
        Image file or image.

    Returns
    -------
    int
        The hash; bit ``63 - k`` is coefficient ``k`` (row-major) of the 8 x 8
        lowest DCT frequencies of the 32 x 32 grayscale downscale, set when the
        coefficient exceeds the median of the 63 non-DC ones.

    Raises
    ------
    DataValidationError
        The image cannot be decoded.
    """
    pixels = _thumbnail(image)
    if pixels is None:
        raise DataValidationError(f"cannot decode image {image!r}")
    return int(_hash_thumbnails(pixels[None])[0])


def perceptual_hashes(
    paths: Sequence[str],
    *,
    n_jobs: int = 1,
    progress: bool = True,
    thumbnails: bool = False,
) -> tuple[np.ndarray, ...]:
    """Perceptual hashes of image files, decoded in threads and hashed in batches.

    Parameters
    ----------
    paths : sequence of str
        Image files.
    n_jobs : int, default=1
        Threads decoding images (PIL releases the GIL).
    progress : bool, default=True
        Show a tqdm progress bar.
    thumbnails : bool, default=False
        Also return the 32 x 32 grayscale downscales the hashes are taken of.

    Returns
    -------
    hashes : numpy.ndarray of uint64
        One hash per path (0 where ``ok`` is False).
    ok : numpy.ndarray of bool
        Whether the file could be decoded.
    pixels : numpy.ndarray of uint8, shape (n, 32, 32)
        Only with ``thumbnails=True`` (zeros where ``ok`` is False).
    """
    paths = [str(p) for p in paths]
    hashes = np.zeros(len(paths), dtype=np.uint64)
    ok = np.zeros(len(paths), dtype=bool)
    pixels = np.zeros((len(paths), _SAMPLE, _SAMPLE), dtype=np.uint8) if thumbnails else None
    with tqdm(total=len(paths), desc="perceptual hash", unit="img", disable=not progress) as bar:
        for start, thumbs in _thumbnail_batches(paths, int(n_jobs)):
            good = np.array([t is not None for t in thumbs], dtype=bool)
            if good.any():
                stack = np.stack([t for t in thumbs if t is not None])
                index = start + np.flatnonzero(good)
                hashes[index] = _hash_thumbnails(stack)
                ok[index] = True
                if pixels is not None:
                    pixels[index] = np.clip(stack.round(), 0, 255).astype(np.uint8)
            bar.update(len(thumbs))
    return (hashes, ok) if pixels is None else (hashes, ok, pixels)


def _thumbnail_batches(paths: list[str], n_jobs: int) -> Iterator[tuple[int, list]]:
    if n_jobs <= 1:
        for start in range(0, len(paths), _BATCH):
            yield start, [_thumbnail(p) for p in paths[start : start + _BATCH]]
        return
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        for start in range(0, len(paths), _BATCH):
            yield start, list(pool.map(_thumbnail, paths[start : start + _BATCH]))


def _popcount(values: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values).astype(np.int64)
    as_bytes = values.astype(np.uint64).view(np.uint8).reshape(-1, 8)  # pragma: no cover
    return np.unpackbits(as_bytes, axis=1).sum(axis=1).astype(np.int64)  # pragma: no cover


def hamming_pairs(
    hashes: np.ndarray, max_distance: int = DEFAULT_MAX_DISTANCE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of 64-bit hashes within ``max_distance`` bits, through a band index.

    The bits are cut into ``max_distance + 1`` bands; a pair within the distance
    agrees exactly on at least one band, so only hashes sharing a band value are
    compared (exactly), never all pairs.

    Parameters
    ----------
    hashes : array of uint64
        The hashes.
    max_distance : int, default=DEFAULT_MAX_DISTANCE
        Largest Hamming distance reported (0 to 63).

    Returns
    -------
    i, j : numpy.ndarray of int64
        Indices of the pairs, ``i < j``, sorted by ``(i, j)``.
    distance : numpy.ndarray of int64
        Hamming distance of each pair.
    """
    if not 0 <= int(max_distance) < 64:
        raise DataValidationError(f"max_distance must be in 0..63, got {max_distance}")
    max_distance = int(max_distance)
    hashes = np.asarray(hashes, dtype=np.uint64).ravel()
    n = len(hashes)
    edges = np.linspace(0, 64, max_distance + 2).round().astype(int)
    found: list[np.ndarray] = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = np.uint64((1 << int(hi - lo)) - 1)
        keys = (hashes >> np.uint64(lo)) & mask
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        # run id of each sorted position: equal keys form one run
        run = np.concatenate([[0], np.cumsum(sorted_keys[1:] != sorted_keys[:-1])])
        offset = 1
        while offset < n:
            same = run[offset:] == run[:-offset]
            if not same.any():
                break  # no run is longer than offset
            a = order[:-offset][same]
            b = order[offset:][same]
            dist = _popcount(hashes[a] ^ hashes[b])
            close = dist <= max_distance
            if close.any():
                lo_ij = np.minimum(a[close], b[close]).astype(np.int64)
                hi_ij = np.maximum(a[close], b[close]).astype(np.int64)
                found.append(lo_ij * n + hi_ij)
            offset += 1
    if not found:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    codes = np.unique(np.concatenate(found))
    i, j = codes // n, codes % n
    return i, j, _popcount(hashes[i] ^ hashes[j])


def _correlation(pixels: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Pearson correlation of the downscales of each pair (0 when one is flat)."""
    size = int(np.prod(pixels.shape[1:]))  # -1 cannot be inferred for no pair
    a = pixels[i].reshape(len(i), size).astype(np.float64)
    b = pixels[j].reshape(len(j), size).astype(np.float64)
    a -= a.mean(axis=1, keepdims=True)
    b -= b.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(norm > 0, (a * b).sum(axis=1) / norm, 0.0)
    return r


def find_near_duplicates(
    table: pd.DataFrame,
    *,
    max_distance: int = DEFAULT_MAX_DISTANCE,
    min_correlation: float | None = DEFAULT_MIN_CORRELATION,
    label_columns: Sequence[str] | None = None,
    n_jobs: int = 1,
    progress: bool = True,
    sha256: Sequence[str | None] | None = None,
) -> pd.DataFrame:
    """Pairs of near-duplicate images of a dataset, across splits and with label conflicts.

    Parameters
    ----------
    table : pandas.DataFrame
        Label table of a loader (``file, path, split, has_image`` and labels);
        rows without image are skipped, so are files that cannot be decoded.
    max_distance : int, default=DEFAULT_MAX_DISTANCE
        Largest Hamming distance (of 64 bits) between the perceptual hashes of a
        pair. Resizing 224 -> 112 px with JPEG re-encoding moves a FairFace image's
        hash by 0-4 bits; copies with a slightly different crop by up to about 8;
        different faces are about 32 bits apart, a few within 4-8.
    min_correlation : float or None, default=DEFAULT_MIN_CORRELATION
        Smallest Pearson correlation of the two 32 x 32 grayscale downscales of a
        pair (a resized, re-encoded copy: above 0.99). None keeps every pair within
        ``max_distance``.
    label_columns : sequence of str, optional
        Labels compared within a pair (default: ``gender, age, race, age_years``
        where present).
    n_jobs : int, default=1
        Threads decoding images.
    progress : bool, default=True
        Show a progress bar while hashing.
    sha256 : sequence of str, optional
        Byte hashes of the rows with images (from :func:`check_integrity`), to
        mark byte-identical pairs.

    Returns
    -------
    pandas.DataFrame
        One row per pair (``a`` before ``b`` in table order): ``file_a, file_b,
        split_a, split_b, distance, correlation, cross_split, byte_identical`` (None without
        ``sha256``), ``conflicting_columns`` (label columns that differ, ``""``
        when none), ``conflict``, the label columns suffixed ``_a``/``_b``, ``path_a,
        path_b``; sorted by distance then file. ``attrs["elapsed_s"]`` holds the
        wall time and ``attrs["n_hashed"]`` the number of images hashed.
    """

    start = time.perf_counter()
    rows = images_of_label_table(table).reset_index(drop=True)
    if sha256 is not None and len(sha256) != len(rows):
        raise DataValidationError(f"{len(sha256)} byte hashes for {len(rows)} rows with images")
    hashes, ok, pixels = perceptual_hashes(
        rows["path"].astype(str).tolist(), n_jobs=n_jobs, progress=progress, thumbnails=True
    )
    kept = np.flatnonzero(ok)
    i, j, dist = hamming_pairs(hashes[kept], max_distance)
    ia, ib = kept[i], kept[j]
    correlation = _correlation(pixels, ia, ib)
    if min_correlation is not None:
        keep = correlation >= float(min_correlation)
        ia, ib, dist, correlation = ia[keep], ib[keep], dist[keep], correlation[keep]
    if label_columns is None:
        label_columns = [c for c in LABEL_COLUMNS if c in rows.columns]
    a, b = rows.iloc[ia].reset_index(drop=True), rows.iloc[ib].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "file_a": a["file"].to_numpy(),
            "file_b": b["file"].to_numpy(),
            "split_a": a["split"].to_numpy(),
            "split_b": b["split"].to_numpy(),
            "distance": dist.astype(np.int64),
            "correlation": correlation.round(4),
        }
    )
    out["cross_split"] = (out["split_a"].astype(str) != out["split_b"].astype(str)).to_numpy()
    if sha256 is not None:
        sha = np.asarray(list(sha256), dtype=object)
        out["byte_identical"] = pd.array(sha[ia] == sha[ib], dtype="boolean")
    else:
        out["byte_identical"] = pd.array([pd.NA] * len(out), dtype="boolean")
    differs = np.zeros((len(out), len(label_columns)), dtype=bool)
    for k, column in enumerate(label_columns):
        va, vb = a[column].astype(object), b[column].astype(object)
        both_missing = va.isna().to_numpy() & vb.isna().to_numpy()
        differs[:, k] = (va.to_numpy() != vb.to_numpy()) & ~both_missing
    out["conflicting_columns"] = [
        ", ".join(c for c, d in zip(label_columns, row) if d) for row in differs
    ]
    out["conflict"] = differs.any(axis=1)
    for column in label_columns:
        out[f"{column}_a"] = a[column].to_numpy()
        out[f"{column}_b"] = b[column].to_numpy()
    out["path_a"] = a["path"].to_numpy()
    out["path_b"] = b["path"].to_numpy()
    out = out.sort_values(["distance", "file_a", "file_b"], kind="stable").reset_index(drop=True)
    out.attrs["elapsed_s"] = time.perf_counter() - start
    out.attrs["n_hashed"] = int(ok.sum())
    out.attrs["max_distance"] = int(max_distance)
    out.attrs["min_correlation"] = min_correlation
    return out
