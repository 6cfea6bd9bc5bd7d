"""Linear probes and few-shot prototypes on frozen CLIP image features.

    >>> from visprog import probe
    >>> settings = {"model.clip": "openai/clip-vit-base-patch32"}
    >>> birds = probe.fit("birds/", out="birds.probe", settings=settings)
    >>> birds = probe.load("birds.probe")
    >>> birds.classes, birds.predict(features)  # features: (N, D) CLIP image features

``fit`` reads a folder of class folders (or a CSV / JSON Lines of path,label), computes CLIP
features (cached by image content), and fits a multinomial logistic-regression head whose L2
strength is chosen by k-fold cross-validation. Importing this package needs only NumPy; torch
loads when features are computed.
"""

from __future__ import annotations

from visprog.probe.pipeline import Evaluation, evaluate, fit
from visprog.probe.probefile import Probe, load

__all__ = ["Evaluation", "Probe", "evaluate", "fit", "load"]
