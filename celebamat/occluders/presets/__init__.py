"""The paper's occluder datasets, one preset each: ``celebamat occluders import --preset NAME SRC --out DIR``.

Each preset reads a dataset as its authors distribute it, sets kind and subtype per class, records source and
licence in every asset, refines binary masks by closed-form matting and reports what it skipped and why.
The datasets themselves are never shipped: fetch them from their authors (see ``docs/paper.md``).
"""

from __future__ import annotations

from pathlib import Path

from celebamat.errors import AssetError
from celebamat.occluders.presets.base import ImportReport, Item, Preset, Skip, run_preset
from celebamat.occluders.presets.hands import read_11k, read_egohands, read_hiu
from celebamat.occluders.presets.mattes import read_am2k, read_comp1k, read_figaro, read_sim
from celebamat.occluders.presets.textures import read_dtd

_RESEARCH = "research use only under the dataset's own terms; do not redistribute"

#: Every preset by name.
PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("hiu-dmtl", "HIU-Data (HIU-DMTL, Zhang et al. ICCV 2021)", f"HIU-Data licence on request; {_RESEARCH}",
           "https://github.com/MandyMo/HIU-DMTL", "photos with hand masks (a masks folder or <stem>_mask files)",
           read_hiu),
    Preset("11k-hands", "11k Hands (Afifi 2019)", f"free for reasonable academic fair use; {_RESEARCH}",
           "https://sites.google.com/view/11khands", "Hands/Hand_<n>.jpg and HandInfo.csv", read_11k),
    Preset("egohands", "EgoHands (Bambach et al. ICCV 2015)", f"EgoHands terms (research); {_RESEARCH}",
           "http://vision.soic.indiana.edu/projects/egohands/",
           "_LABELLED_SAMPLES/<VIDEO>/frame_<n>.jpg and polygons.mat", read_egohands),
    Preset("sim", "Semantic Image Matting dataset SIMD (Sun et al. CVPR 2021)",
           f"SIMD terms; its Adobe part under the Adobe Deep Image Matting licence; {_RESEARCH}",
           "https://github.com/nowsyn/SIM", "<class>/fg/<name> and <class>/alpha/<name>", read_sim),
    Preset("am-2k", "AM-2k (Li et al., GFM, IJCV 2022)", f"AM-2k licence (non-commercial research); {_RESEARCH}",
           "https://github.com/JizhiziLi/GFM", "train/original + train/mask, validation/original + validation/mask",
           read_am2k),
    Preset("composition-1k", "Adobe Composition-1k (Xu et al., Deep Image Matting, CVPR 2017)",
           f"Adobe Deep Image Matting dataset licence (by request from Adobe); {_RESEARCH}",
           "https://sites.google.com/view/deepimagematting",
           "Combined_Dataset/{Training_set,Test_set}/<group>/{fg,alpha}", read_comp1k),
    Preset("figaro1k", "Figaro1k (Svanera et al. ICIP 2016)", f"Figaro1k terms (research); {_RESEARCH}",
           "http://projects.i-ctm.eu/it/progetto/figaro-1k",
           "Original/{Training,Testing}/FrameNNNNN-org.jpg and GT/{Training,Testing}/FrameNNNNN-gt.pbm", read_figaro),
    Preset("dtd", "Describable Textures Dataset (Cimpoi et al. CVPR 2014), as RandOcc-style textured shapes",
           f"DTD terms (research); {_RESEARCH}", "https://www.robots.ox.ac.uk/~vgg/data/dtd/",
           "images/<category>/<file>.jpg and labels/test1.txt", read_dtd),
)}


def import_preset(name: str, src: str | Path, out_dir: str | Path, **kw) -> ImportReport:
    """Import the dataset at ``src`` with preset ``name`` (see :data:`PRESETS`); keywords as
    :func:`celebamat.occluders.presets.base.run_preset`."""
    if name not in PRESETS:
        raise AssetError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return run_preset(PRESETS[name], src, out_dir, **kw)


__all__ = ["PRESETS", "ImportReport", "Item", "Preset", "Skip", "import_preset", "run_preset"]
