import cv2
import numpy as np
import pytest

from celebamat.faces.face_zones import extended_oval, face_regions
from celebamat.faces.skin import (
    CELEBAMASK_PARTS,
    DEFAULT_SKIN_PARTS,
    labels_to_mask,
    occluded_fraction,
    paint_parts,
    resolve_parts,
)
from celebamat.faces.skin_landmarks import landmark_skin
from celebamat.landmarks import EYE_LEFT_RING, EYE_RIGHT_RING, face_anchors


def _rect(shape, y0, y1, x0, x1):
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


def test_painting_order_later_parts_cover_earlier():
    shape = (20, 20)
    masks = {
        "skin": _rect(shape, 2, 18, 2, 18),
        "hair": _rect(shape, 0, 6, 0, 20),       # fringe over the forehead
        "eye_g": _rect(shape, 8, 11, 3, 17),     # glasses across both eyes
        "l_eye": _rect(shape, 9, 10, 5, 7),      # eyes are painted after eye_g: they stay visible
        "hat": _rect(shape, 0, 3, 0, 20),
    }
    labels = paint_parts(masks)
    skin = labels_to_mask(labels, DEFAULT_SKIN_PARTS)
    assert not skin[4, 10]                      # hair over skin
    assert not skin[8, 12]                      # lens over skin
    assert skin[9, 5]                           # eye over lens
    assert skin[14, 10]                         # plain skin
    assert labels[1, 10] == CELEBAMASK_PARTS.index("hat") + 1
    assert not skin[0, 0] and labels[19, 19] == 0


def test_skin_parts_groups_and_errors():
    assert resolve_parts(["skin", "eyes", "lips"]) == ("skin", "l_eye", "r_eye", "u_lip", "l_lip")
    with pytest.raises(ValueError, match="beard"):
        resolve_parts(["skin", "beard"])
    labels = paint_parts({"skin": _rect((6, 6), 0, 6, 0, 6), "nose": _rect((6, 6), 2, 4, 2, 4)})
    assert labels_to_mask(labels, ["skin"]).sum() == 32
    assert labels_to_mask(labels, ["skin", "nose"]).sum() == 36
    with pytest.raises(ValueError, match="unknown CelebAMask-HQ parts"):
        paint_parts({"face": np.ones((3, 3), bool)})
    with pytest.raises(ValueError, match="shape"):
        paint_parts({"skin": np.ones((3, 3), bool), "nose": np.ones((4, 4), bool)})


def test_moved_names_stay_importable_from_skin():
    from celebamat.faces import skin

    assert skin.landmark_skin is landmark_skin and skin.face_regions is face_regions
    with pytest.raises(AttributeError, match="no_such_thing"):
        skin.no_such_thing  # noqa: B018


def test_occluded_fraction():
    shape = (40, 40)
    skin = _rect(shape, 10, 30, 10, 30)
    assert occluded_fraction(paint_parts({"skin": skin})) == 0.0
    lens = _rect(shape, 10, 15, 10, 30)  # a quarter of the face
    frac = occluded_fraction(paint_parts({"skin": skin, "eye_g": lens}), face=skin)
    assert frac == pytest.approx(0.25, abs=0.03)
    hat_above = _rect(shape, 0, 10, 0, 40)  # entirely above the face: not occluding
    assert occluded_fraction(paint_parts({"skin": skin, "hat": hat_above}), face=skin) == 0.0
    # Without the raw skin mask only the visible skin's hull counts: a lens over its top edge is outside it.
    inner = _rect(shape, 14, 20, 14, 20)
    assert occluded_fraction(paint_parts({"skin": skin, "eye_g": inner})) == pytest.approx(36 / 400, abs=0.02)


def test_landmark_skin_follows_the_face(demo_faces):
    rec = demo_faces["astronaut"]
    s = landmark_skin(rec.image, rec.landmarks)
    assert s.shape == rec.image.shape[:2] and s.dtype == np.float32
    assert 0.0 <= s.min() and s.max() <= 1.0
    a = face_anchors(rec.landmarks)
    at = lambda name: s[int(a[name][1]), int(a[name][0])]  # noqa: E731
    for name in ("cheek_left", "cheek_right", "nose_tip", "mouth_center", "eye_left"):
        assert at(name) > 0.9, name
    assert at("chin") == pytest.approx(0.5, abs=0.3)  # the chin point lies on the oval's soft edge
    above_chin = (a["chin"] + a["lip_bottom"]) / 2
    assert s[int(above_chin[1]), int(above_chin[0])] > 0.9
    assert s[:10, :10].max() == 0.0                      # background corner
    assert at("hairline") < 0.1                           # hair above the forehead
    # Kept regions: eyes and lips are skin even though their colour differs.
    reg = face_regions(rec.landmarks, s.shape)
    assert s[reg["eyes"] > 0.99].mean() > 0.95 and s[reg["lips"] > 0.99].mean() > 0.95


def test_colour_refinement_removes_a_dark_fringe(demo_faces):
    """Paint near-black hair over the upper forehead inside the oval: the refined matte excludes it,
    the plain oval does not."""
    rec = demo_faces["grace_hopper"]
    img = rec.image.copy()
    a = face_anchors(rec.landmarks)
    fy = int(a["forehead"][1])
    fx = int(a["forehead"][0])
    img[fy - 6: fy + 6, fx - 30: fx + 30] = (28, 22, 18)
    refined = landmark_skin(img, rec.landmarks)
    plain = landmark_skin(img, rec.landmarks, refine=False)
    assert plain[fy, fx] > 0.9
    assert refined[fy, fx] < 0.1
    assert refined[int(a["cheek_left"][1]), int(a["cheek_left"][0])] > 0.9


def test_person_mask_cuts_the_matte(demo_faces):
    rec = demo_faces["astronaut"]
    person = np.ones(rec.image.shape[:2], np.float32)
    person[:, : rec.size // 2] = 0.0
    s = landmark_skin(rec.image, rec.landmarks, person)
    assert s[:, : rec.size // 2].max() == 0.0 and s[:, rec.size // 2:].max() > 0.9


def _painted_face(rec, rng: np.random.Generator, skin_rgb=(212, 160, 130), noise: float = 3.0) -> np.ndarray:
    """A synthetic face on the real landmarks: a ``skin_rgb`` oval with a mild lighting gradient and ``noise``,
    dark background, brows and lips darker than the skin (red lips)."""
    size = rec.image.shape[0]
    reg = face_regions(rec.landmarks, (size, size))
    yy = np.linspace(0.92, 1.05, size, dtype=np.float32)[:, None, None]
    tone = np.asarray(skin_rgb, np.float32)
    skin = tone * yy + rng.normal(0, noise, (size, size, 3))
    img = np.where(reg["oval"][..., None] > 0.5, skin, np.array([40, 60, 90], np.float32))
    img[reg["brows"] > 0.5] = tone * np.float32([0.42, 0.37, 0.35])
    img[reg["lips"] > 0.5] = tone * np.float32([0.8, 0.44, 0.62])
    return np.clip(img, 0, 255).astype(np.uint8)


def test_wrinkles_folds_and_red_cheeks_are_no_holes(demo_faces):
    rec = demo_faces["grace_hopper"]
    rng = np.random.default_rng(0)
    img = _painted_face(rec, rng)
    a = face_anchors(rec.landmarks)
    size = img.shape[0]
    # Dark wrinkle lines across the forehead and cheeks, two nasolabial folds, a red cheek, a shadow.
    for k in range(6):
        y = int(a["forehead"][1]) + 5 + 4 * k
        cv2.line(img, (int(a["forehead"][0]) - 40, y), (int(a["forehead"][0]) + 40, y + 2), (120, 80, 60), 1)
    nose, mouth = a["nose_tip"], a["mouth_center"]
    for sgn in (-1, 1):
        p0 = (int(nose[0] + sgn * 14), int(nose[1]))
        p1 = (int(mouth[0] + sgn * 26), int(mouth[1] + 8))
        cv2.line(img, p0, p1, (110, 70, 55), 3)
    cl = a["cheek_left"]
    cv2.circle(img, (int(cl[0]), int(cl[1])), int(0.05 * size), (225, 110, 105), -1)
    cr = a["cheek_right"]
    img[int(cr[1]) - 10: int(cr[1]) + 10, int(cr[0]) - 12: int(cr[0]) + 12] = (150, 110, 90)  # shadow
    s = landmark_skin(img, rec.landmarks)
    reg = face_regions(rec.landmarks, s.shape)
    inner = cv2.erode((reg["oval"] > 0.99).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert s[inner].min() > 0.9, "a hole in the skin"
    assert s[int(cl[1]), int(cl[0])] > 0.95 and s[int(cr[1]), int(cr[0])] > 0.95
    near = cv2.dilate((reg["oval"] > 0).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert s[~near].max() < 0.1                  # no skin beyond the oval's soft edge (background colour)
    assert s.sum() / reg["oval"].sum() > 0.97


def test_fringe_and_glasses_frames_are_cut_out(demo_faces):
    rec = demo_faces["grace_hopper"]
    img = _painted_face(rec, np.random.default_rng(1))
    size = img.shape[0]
    pts = np.asarray(rec.landmarks, np.float64)
    reg = face_regions(rec.landmarks, (size, size))
    a = face_anchors(rec.landmarks)
    # A dark fringe: the oval's upper part, from its top down to half-way to the brows.
    top = int(np.nonzero(reg["oval"].max(axis=1) > 0.5)[0][0])
    brow_top = int(np.nonzero(reg["brows"].max(axis=1) > 0.5)[0][0])
    fringe_y = (top + brow_top) // 2
    img[:fringe_y] = np.where(reg["oval"][:fringe_y, :, None] > 0.5, np.array([45, 32, 25], np.uint8), img[:fringe_y])
    # Dark glasses frames: a thick ring around each eye, joined by a bridge.
    centres = []
    for ring in (EYE_LEFT_RING, EYE_RIGHT_RING):
        c = pts[list(ring)].mean(axis=0)
        half = (pts[list(ring)].max(0) - pts[list(ring)].min(0)) / 2
        axes = (int(half[0] + 0.12 * size * 0.5), int(half[1] + 0.09 * size * 0.5))
        cv2.ellipse(img, (int(c[0]), int(c[1])), axes, 0, 0, 360, (30, 25, 25), 3)
        centres.append((c, axes))
    (c0, ax0), (c1, ax1) = centres
    cv2.line(img, (int(c0[0] + ax0[0]), int(c0[1])), (int(c1[0] - ax1[0]), int(c1[1])), (30, 25, 25), 3)
    s = landmark_skin(img, rec.landmarks)
    fringe = (reg["oval"] > 0.99) & (np.arange(size)[:, None] < fringe_y - 3)
    assert fringe.sum() > 0.01 * size * size
    assert s[fringe].mean() < 0.15
    forehead = (reg["oval"] > 0.99) & (np.abs(np.arange(size)[:, None] - (fringe_y + brow_top) // 2) < 2)
    assert s[forehead].mean() > 0.8                                 # the bare forehead below it stays
    # Glasses are not skin, frames and lenses alike (CelebAMask-HQ paints eye_g over the skin); the eye seen
    # through the lens is.
    for c, axes in centres:
        assert s[int(c[1] + axes[1]), int(c[0])] < 0.3
        lens = (int(c[0]), int(c[1] + axes[1] * 0.6))
        assert s[lens[1], lens[0]] < 0.3
        assert s[int(c[1]), int(c[0])] > 0.9
    assert s[int(a["cheek_left"][1]), int(a["cheek_left"][0])] > 0.95
    assert s[int(a["nose_tip"][1]), int(a["nose_tip"][0])] > 0.95


def test_forehead_reaches_the_hairline_and_stops_there(demo_faces):
    """Bare forehead above the mesh's top (the mesh stops part-way up) is skin up to the hair, not beyond."""
    rec = demo_faces["grace_hopper"]
    img = _painted_face(rec, np.random.default_rng(2))
    size = img.shape[0]
    pts = rec.landmarks.astype(np.float64)
    ext = extended_oval(rec.landmarks, (size, size)) > 0.5
    top = int(pts[10][1])
    ext_top = int(np.nonzero(ext.any(axis=1))[0][0])
    assert top - ext_top > 0.05 * size                       # room above the mesh for a forehead
    hairline = (top + ext_top) // 2
    rows = np.arange(size)[:, None]
    img[ext & (rows >= hairline) & (rows < top + 3)] = img[int(pts[151][1]), int(pts[151][0])]
    img[ext & (rows < hairline)] = (35, 28, 22)               # hair above the hairline
    s = landmark_skin(img, rec.landmarks)
    x = int(pts[10][0])
    assert s[(hairline + top) // 2, x] > 0.9                  # forehead above the mesh is skin
    assert s[hairline - 4, x] < 0.1 and s[ext_top + 2, x] == 0.0  # hair is not


def test_beard_make_up_and_lipstick_stay_skin(demo_faces):
    rec = demo_faces["grace_hopper"]
    rng = np.random.default_rng(3)
    img = _painted_face(rec, rng)
    size = img.shape[0]
    pts = rec.landmarks.astype(np.float64)
    reg = face_regions(rec.landmarks, (size, size))
    a = face_anchors(rec.landmarks)
    # A full beard: rough dark hair over the lower face, from below the nose to the jaw, lips left bare.
    rows = np.arange(size)[:, None]
    beard = (reg["oval"] > 0.5) & (rows > a["nose_tip"][1] + 6) & (reg["lips"] < 0.5)
    img[beard] = np.clip(rng.normal(45, 18, (int(beard.sum()), 3)), 0, 255).astype(np.uint8)
    # Heavy eyeliner and lashes around both eyes, red lipstick a little beyond the lip contour.
    iod = float(np.hypot(*(a["eye_right"] - a["eye_left"])))
    for ring in (EYE_LEFT_RING, EYE_RIGHT_RING):
        cv2.polylines(img, [np.round(pts[list(ring)]).astype(np.int32)], True, (20, 15, 15), max(2, int(0.08 * iod)))
    lips = cv2.dilate((reg["lips"] > 0.5).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    img[lips] = (200, 20, 50)
    s = landmark_skin(img, rec.landmarks)
    assert s[beard & (reg["oval"] > 0.99)].mean() > 0.95
    liner = np.zeros((size, size), np.uint8)
    for ring in (EYE_LEFT_RING, EYE_RIGHT_RING):
        cv2.polylines(liner, [np.round(pts[list(ring)]).astype(np.int32)], True, 1, max(2, int(0.08 * iod)))
    assert s[liner > 0].min() > 0.9
    assert s[lips].min() > 0.9


def test_hair_down_one_cheek_is_no_beard(demo_faces):
    """Dark hair falling along one side of the face to the jaw is cut out, even below the nose."""
    rec = demo_faces["grace_hopper"]
    img = _painted_face(rec, np.random.default_rng(4))
    size = img.shape[0]
    reg = face_regions(rec.landmarks, (size, size))
    a = face_anchors(rec.landmarks)
    cols = np.arange(size)[None, :]
    x_edge = int(np.nonzero(reg["oval"].max(axis=0) > 0.5)[0][0])
    lock = (reg["oval"] > 0.5) & (cols < x_edge + 0.12 * size) & (np.arange(size)[:, None] > a["brow_left"][1])
    img[lock] = (38, 30, 24)
    s = landmark_skin(img, rec.landmarks)
    body = cv2.erode(lock.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0  # the lock, not its soft edge
    low = body & (np.arange(size)[:, None] > a["nose_tip"][1] + 6)
    assert low.sum() > 50 and s[low].mean() < 0.2
    assert s[int(a["cheek_right"][1]), int(a["cheek_right"][0])] > 0.95


def test_a_face_mask_is_no_skin_though_it_covers_most_probes(demo_faces):
    """A light-blue mask from the nose bridge to the chin covers most colour probes and the lips: the skin
    model still takes the skin's colour (a hue skin can have), and the mask and the lips under it are out."""
    rec = demo_faces["grace_hopper"]
    rng = np.random.default_rng(5)
    img = _painted_face(rec, rng)
    size = img.shape[0]
    reg = face_regions(rec.landmarks, (size, size))
    a = face_anchors(rec.landmarks)
    rows = np.arange(size)[:, None]
    mask = (reg["oval"] > 0.5) & (rows > (a["nose_bridge"][1] + a["nose_tip"][1]) / 2)
    img[mask] = np.clip(np.array([150, 185, 215]) + rng.normal(0, 4, (int(mask.sum()), 3)), 0, 255).astype(np.uint8)
    s = landmark_skin(img, rec.landmarks)
    inner = cv2.erode(mask.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert s[inner].mean() < 0.1
    assert s[reg["lips"] > 0.99].max() < 0.2
    forehead = a["forehead"]
    assert s[int(forehead[1]), int(forehead[0])] > 0.95 and s[reg["eyes"] > 0.99].min() > 0.9


def test_skin_coloured_hair_far_beyond_the_oval_is_no_skin(demo_faces):
    """Hair close to the skin's colour (light brown, grey) passes the colour test: beyond the mesh oval the skin
    grows only a limited distance through it (the forehead, the temples), not over the whole head."""
    from celebamat.faces.skin_landmarks import _REACH
    from celebamat.faces.face_zones import face_axes

    rec = demo_faces["grace_hopper"]
    img = _painted_face(rec, np.random.default_rng(4))
    size = img.shape[0]
    pts = rec.landmarks.astype(np.float64)
    ext = extended_oval(rec.landmarks, (size, size)) > 0.5
    img[ext] = img[int(pts[151][1]), int(pts[151][0])]  # everything up to the extended oval's edge: skin-coloured
    s = landmark_skin(img, rec.landmarks)
    iod = face_axes(pts)[2]
    x, top = int(pts[10][0]), int(pts[10][1])
    ext_top = int(np.nonzero(ext[:, x])[0][0])
    assert top - ext_top > _REACH * iod + 6  # the extended oval reaches further up than the skin may grow
    assert s[top - int(0.5 * _REACH * iod), x] > 0.9  # the forehead just above the mesh is skin
    assert s[ext_top + 2, x] < 0.1  # far up the head is not


def test_skin_turned_violet_by_a_cool_light_at_the_edge_stays_skin(demo_faces):
    """Dark skin lit by the sky at one side of the face takes a hue skin never has (violet) while staying close
    to the skin's colour: a smooth crescent of it reaching the oval's border is skin, not a face mask or a
    sleeve (those are far off in colour as well, see the face mask test)."""
    from celebamat.faces.skin_colour import skin_distance

    rec = demo_faces["grace_hopper"]
    size = rec.image.shape[0]
    rng = np.random.default_rng(6)
    reg = face_regions(rec.landmarks, (size, size))
    a = face_anchors(rec.landmarks)
    dark_skin = np.array([95, 70, 60], np.float32)
    img = _painted_face(rec, rng, dark_skin, noise=7.0).astype(np.float32)  # mottled: a wide skin model
    cols = np.arange(size)[None, :]
    x_edge = int(np.nonzero(reg["oval"].max(axis=0) > 0.5)[0][-1])
    side = (reg["oval"] > 0.5) & (cols > x_edge - 0.1 * size) & (reg["eyes"] < 0.5) & (reg["brows"] < 0.5)
    img[side] = dark_skin + rng.normal(0, 2, (int(side.sum()), 3))  # lit skin is smooth
    # Blend the crescent towards violet as far as it stays within 0.7 tolerance (2.8) of the skin model: off
    # enough to form a border blob (0.6 tolerance), cut by the old rule. Searched, not fixed: the colour
    # conversions round a little differently on other CPUs.
    violet = np.array([100, 62, 105], np.float32)
    found = None
    for t in np.arange(0.2, 1.0, 0.01):
        trial = img.copy()
        trial[side] = (1 - t) * img[side] + t * violet
        trial = np.clip(trial, 0, 255).astype(np.uint8)
        dist, _, hue = skin_distance(trial, rec.landmarks)
        med = float(np.median(dist[side]))
        if med >= 0.695 * 2.8:
            break
        if (hue[side] == 2).mean() > 0.9 and med > 0.65 * 2.8:
            found = trial
    assert found is not None, "no violet tint between 0.65 and 0.695 tolerance"
    img = found
    s = landmark_skin(img, rec.landmarks)
    inner = cv2.erode(side.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert s[inner].mean() > 0.9
    assert s[int(a["cheek_left"][1]), int(a["cheek_left"][0])] > 0.95


def test_a_nose_standing_out_past_the_oval_is_skin(demo_faces):
    """A face turned aside shows its nose past the mesh's oval (which follows the cheeks): the nose is skin
    there, and the background beside it is not."""
    from celebamat.faces.face_zones import NOSE_POINTS, nose_hull

    rec = demo_faces["grace_hopper"]
    size = rec.image.shape[0]
    frontal = nose_hull(rec.landmarks, (size, size))
    assert frontal.shape == (size, size) and frontal.dtype == np.float32
    assert (frontal > 0.5).sum() > 0 and (face_regions(rec.landmarks, (size, size))["oval"][frontal > 0.5] > 0.5).all()
    # Turned aside: the nose's points move sideways past the oval's edge, and are painted skin-coloured.
    pts = rec.landmarks.astype(np.float64).copy()
    oval = face_regions(pts, (size, size))["oval"] > 0.5
    x_left = int(np.nonzero(oval.any(axis=0))[0][0])
    nose = list(NOSE_POINTS)
    pts[nose, 0] -= pts[nose, 0].min() - x_left + 0.03 * size  # the nose tip 3 % of the side past the oval
    img = _painted_face(rec, np.random.default_rng(7))
    hull = nose_hull(pts, (size, size)) > 0.5
    img[hull] = img[int(pts[151][1]), int(pts[151][0])]
    out = hull & ~oval
    assert out.sum() > 0.002 * size * size
    s = landmark_skin(img, pts.astype(np.float32))
    assert s[cv2.erode(out.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0].mean() > 0.9
    beside = cv2.dilate(hull.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool) & ~hull & ~oval
    assert s[beside].mean() < 0.2


def test_grey_brown_hair_over_half_the_probes_of_a_pale_face_is_cut(demo_faces):
    """A photo of little colour: a grey-brown fringe down to the brows and darker hair over one side of the
    face cover 8 of the 20 colour probes and differ from the pale skin in lightness alone (chroma alike). The
    probes on the skin agree with each other and not with the hair's (v6: lightness counts as in the pixel
    distance), so the skin model is the skin's: the hair is cut out and the bare cheek stays. Under v5 the
    hair's probes joined the model and the whole face, hair included, was skin."""
    rec = demo_faces["grace_hopper"]
    rng = np.random.default_rng(7)
    img = _painted_face(rec, rng, skin_rgb=(200, 188, 180), noise=2.0)
    size = img.shape[0]
    reg = face_regions(rec.landmarks, (size, size))
    a = face_anchors(rec.landmarks)
    rows, cols = np.arange(size)[:, None], np.arange(size)[None, :]
    oval = reg["oval"] > 0.5
    brow_top = int(np.nonzero(reg["brows"].max(axis=1) > 0.5)[0][0])
    fringe = oval & (rows < brow_top - 2)
    lock = oval & ~fringe & (cols < a["nose_tip"][0] - 0.13 * size)
    for part, rgb in ((fringe, (75, 68, 62)), (lock, (60, 54, 50))):
        img[part] = np.clip(np.array(rgb) + rng.normal(0, 2.0, (int(part.sum()), 3)), 0, 255).astype(np.uint8)
    cr, fh = a["cheek_right"], a["forehead"]
    lab = cv2.cvtColor(img[None, [int(cr[1]), int(fh[1])], [int(cr[0]), int(fh[0])]], cv2.COLOR_RGB2LAB)[0]
    lab = lab.astype(float)
    assert (lab[0, 0] - lab[1, 0]) * 100 / 255 > 40                # far apart in lightness ...
    assert np.hypot(lab[:, 1] - 128, lab[:, 2] - 128).max() < 8     # ... and both nearly grey
    s = landmark_skin(img, rec.landmarks)
    body = [cv2.erode(m.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0 for m in (fringe, lock)]
    assert min(m.sum() for m in body) > 0.01 * size * size
    assert s[body[0]].mean() < 0.1 and s[body[1]].mean() < 0.4
    assert s[int(cr[1]), int(cr[0])] > 0.95 and s[int(a["nose_tip"][1]), int(a["nose_tip"][0])] > 0.95


def _stranded_hair(rng: np.random.Generator, shape: tuple[int, int], rgb, contrast: float = 16.0) -> np.ndarray:
    """Hair of colour ``rgb``: vertical strands, 3 px apart, ``contrast`` grey levels between light and dark."""
    cols = np.arange(shape[1])[None, :, None]
    strands = np.where((cols // 3) % 2 == 0, contrast / 2, -contrast / 2)
    return np.asarray(rgb, np.float32) + strands + rng.normal(0, 2.0, (*shape, 3))


def test_a_fringe_nearly_the_skins_colour_is_cut_when_the_hair_above_shows_it(demo_faces):
    """v7: a grey-brown fringe, 30 L units darker than a pale skin and nearly grey like it, is within the
    lightness a shadow is allowed (v6 kept it as skin). The head above the hairline shows the same hair, so the
    fringe's rough pixels of that colour are hair: cut out, while the bare face stays skin."""
    rec = demo_faces["grace_hopper"]
    rng = np.random.default_rng(11)
    img = _painted_face(rec, rng, skin_rgb=(200, 188, 180), noise=2.0).astype(np.float32)
    size = img.shape[0]
    reg = face_regions(rec.landmarks, (size, size))
    a = face_anchors(rec.landmarks)
    rows = np.arange(size)[:, None]
    brow_top = int(np.nonzero(reg["brows"].max(axis=1) > 0.5)[0][0])
    xs = np.nonzero(reg["oval"].max(axis=0) > 0.5)[0]
    head = (rows < brow_top - 4) & (np.arange(size)[None, :] >= xs[0] - 10) & (np.arange(size)[None, :] <= xs[-1] + 10)
    hair = _stranded_hair(rng, (size, size), (118, 110, 104))
    img[head] = hair[head]
    img = np.clip(img, 0, 255).astype(np.uint8)
    lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB).astype(float)
    cr = a["cheek_right"]
    fringe = head & (reg["oval"] > 0.5)
    gap = (lab[int(cr[1]), int(cr[0]), 0] - np.median(lab[fringe][:, 0])) * 100 / 255
    assert 25 < gap < 35  # within what the skin model lets through as shadow
    person = np.ones((size, size), np.float32)
    s = landmark_skin(img, rec.landmarks, person)
    body = cv2.erode(fringe.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert body.sum() > 0.01 * size * size
    assert s[body].mean() < 0.1
    assert s[int(cr[1]), int(cr[0])] > 0.95 and s[int(a["nose_tip"][1]), int(a["nose_tip"][0])] > 0.95
    # Without a person mask the band above the hairline could be background: no hair colour is read.
    assert landmark_skin(img, rec.landmarks)[body].mean() > 0.5


def test_hair_side_and_scalp_colour(demo_faces):
    from celebamat.faces.skin_hair import MIN_DARKER, hair_side, scalp_colour, to_lab

    skin, hair = np.float32([75, 10, 14]), np.float32([40, 6, 8])
    lab = np.stack([skin, hair, (skin + hair) / 2, skin + (skin - hair)])
    assert hair_side(lab, skin, hair) == pytest.approx([0.0, 1.0, 0.5, -1.0], abs=1e-5)
    assert hair_side(lab, skin, None) is None
    assert hair_side(lab, skin, skin - np.float32([MIN_DARKER - 1, 0, 0])) is None  # barely darker: no hair
    assert hair_side(lab, skin, skin + np.float32([30, 0, 0])) is None  # lighter hair: the hue tells it apart
    rec = demo_faces["grace_hopper"]
    size = rec.image.shape[0]
    img = np.full((size, size, 3), (200, 60, 40), np.uint8)
    person = np.ones((size, size), np.float32)
    got = scalp_colour(img, rec.landmarks, person)
    assert got == pytest.approx(to_lab(img[:1, :1])[0, 0], abs=0.5)
    assert scalp_colour(img, rec.landmarks, np.zeros((size, size), np.float32)) is None  # no person up there
