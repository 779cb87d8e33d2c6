"""Import torchvision on a CPU-only torch — the one place that knows about this workaround.

torchvision 0.28.0 is the only release for torch 2.13.0 and its wheel is a CUDA build. On the CPU torch its import
fails with "operator torchvision::nms does not exist", because the Python side registers fake kernels for C++ operators
whose library did not load. Declaring the two operator schemas first (no kernels) lets the import finish:
transforms.v2 and utils.make_grid work; ops.nms and io.decode_image do not (we decode with Pillow and need no NMS).
With a matching torchvision (a CUDA machine, or a future CPU wheel) the operators already exist and nothing is declared.

    from models._torchvision import torchvision
"""

from __future__ import annotations

import torch

_lib = None


def _declare_missing_ops() -> None:
    global _lib
    try:
        torch.ops.torchvision.nms  # noqa: B018 - present when torchvision's C++ library matches this torch
        return
    except (AttributeError, RuntimeError):
        pass
    _lib = torch.library.Library("torchvision", "DEF")  # kept referenced: the schemas live as long as the library
    _lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")


try:
    import torchvision  # noqa: E402
except RuntimeError as e:
    if "torchvision::nms" not in str(e):
        raise
    import sys

    for mod in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[mod]  # drop the half-imported package before trying again
    _declare_missing_ops()
    import torchvision  # noqa: E402

import torchvision.utils  # noqa: E402,F401

__all__ = ["torchvision"]
