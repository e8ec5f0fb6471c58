"""The card's statement of what skin is and where each build's skin mattes come from."""

from __future__ import annotations

from celebamat.dataset.card import SKIN_DEFINITION, skin_provenance


def test_skin_definition_names_what_is_and_is_not_skin():
    for part in ("beard and moustache", "brows", "lids and lashes", "nose", "teeth"):
        assert part in SKIN_DEFINITION
    assert "Not skin: the hair of the scalp" in SKIN_DEFINITION and "glasses" in SKIN_DEFINITION


def test_skin_provenance_says_annotated_or_estimated_and_by_what():
    exact = skin_provenance({"source": "celebamask-hq:/data/CelebAMask-HQ", "options": {}})
    assert "exact" in exact and "estimated" not in exact and "annotation:celebamask-hq" in exact
    demo = skin_provenance({"source": "demo", "options": {"variants": ["m0"]}})
    assert "**estimated**" in demo and "estimate:landmarks-v2" in demo and "sidecar" not in demo
    folder = skin_provenance({"source": "folder:photos", "options": {}})
    assert "sidecar mask" in folder and "estimate:landmarks-v2" in folder
    learned = skin_provenance({"source": "folder:photos", "options": {"skin_model": "runs/t/teacher.safetensors"}})
    assert "FaceMat checkpoint (`runs/t/teacher.safetensors`" in learned and "landmarks-v2" not in learned
