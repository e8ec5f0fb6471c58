"""Render the before/after picture of docs/predict.md from public-domain sources only.

The input is scikit-image's astronaut portrait (public domain) with a synthetic microphone drawn across the
mouth. With ``--checkpoint`` the matte is the model's prediction (``facemat.predict.Predictor``); without it,
the exact matte of the synthetic composite is used (the face's landmark skin matte times one minus the
microphone), i.e. what a perfect model would return; the caption bar in the picture says which.

    python docs/predict_example.py [--checkpoint student.safetensors] [--out docs/predict_example.jpg]
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
from PIL import Image, ImageDraw


def make_input() -> tuple[np.ndarray, np.ndarray]:
    """The occluded photo ``(512, 512, 3)`` uint8 and the occluder's mask ``(512, 512)`` float32 in [0, 1]."""
    from skimage import data

    photo = data.astronaut().copy()
    mask = np.zeros(photo.shape[:2], np.float32)
    # A microphone on a stick from the lower right, covering half of the mouth and chin.
    for target, value in ((photo, None), (mask, 1.0)):
        cv2.line(target, (430, 512), (250, 160), value or (40, 40, 45), 16, cv2.LINE_AA)
        cv2.circle(target, (244, 150), 22, value or (70, 70, 78), -1, cv2.LINE_AA)
    return photo, mask


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", help="facemat checkpoint; default: the exact matte of the composite")
    p.add_argument("--effect", default="recolor")
    p.add_argument("--out", default="docs/predict_example.jpg")
    args = p.parse_args(argv)

    from facemat.effects import apply_effect
    from facemat.predict import FaceFinder, Predictor, overlay_image

    photo, occluder = make_input()
    if args.checkpoint:
        from facemat.runtime import load_runtime

        result = Predictor(load_runtime(args.checkpoint)).predict(photo)
        alpha, faces = result.alpha, [f.landmarks for f in result.faces]
        source = f"matte predicted by {args.checkpoint.rsplit('/', 1)[-1]}"
    else:
        from skimage import data

        from celebamat.faces.skin_landmarks import landmark_skin

        clean = data.astronaut()
        faces = FaceFinder().find(clean)
        alpha = landmark_skin(clean, faces[0]) * (1.0 - occluder)
        source = "exact matte of the synthetic composite (no model)"
    panels = [photo, overlay_image(photo, alpha), apply_effect(args.effect, photo, alpha, faces)]
    # Show the head and the microphone, large enough to see the matte's edges.
    y0, y1, x0, x1 = 10, 330, 70, 390
    sheet = np.concatenate([cv2.resize(x[y0:y1, x0:x1], (384, 384), interpolation=cv2.INTER_CUBIC)
                            for x in panels], axis=1)
    canvas = Image.new("RGB", (sheet.shape[1], sheet.shape[0] + 44), (255, 255, 255))
    canvas.paste(Image.fromarray(sheet), (0, 22))
    draw = ImageDraw.Draw(canvas)
    for i, text in enumerate(("input", "overlay (skin tinted)", f"--effect {args.effect}")):
        draw.text((i * 384 + 6, 5), text, fill=(0, 0, 0))
    caption = f"astronaut (public domain) + synthetic microphone; {source}"
    draw.text((6, sheet.shape[0] + 27), caption, fill=(70, 70, 70))
    canvas.save(args.out, quality=88)
    print(args.out)


if __name__ == "__main__":
    main()
