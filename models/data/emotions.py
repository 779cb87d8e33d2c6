"""Emotion categories and the published AffectNet valence-arousal statistics.

Codes follow AffectNet (0 neutral ... 6 anger, 7 contempt). The statistics are AffectNet's training-set mean and
standard deviation (ddof=1) of valence and arousal per category, as used for annotation transfer by the LeVAsa paper.
No contempt row is published: a dataset with contempt must bring its own statistics or drop the class.
"""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger")
ALL_EMOTIONS: tuple[str, ...] = (*EMOTIONS, "contempt")  # AffectNet codes 0-7

# name -> (mu_v, s_v, mu_a, s_a)
AFFECTNET_STATS: dict[str, tuple[float, float, float, float]] = {
    "neutral": (-0.062719, 0.183525, -0.019574, 0.147558),
    "happy": (0.664328, 0.162671, 0.070280, 0.166012),
    "sad": (-0.637006, 0.221066, -0.257004, 0.141985),
    "surprise": (0.180444, 0.174439, 0.689328, 0.157603),
    "fear": (-0.125745, 0.071007, 0.766180, 0.136925),
    "disgust": (-0.693719, 0.151534, 0.457344, 0.110895),
    "anger": (-0.452736, 0.174105, 0.566778, 0.197566),
}

# Aliases seen in the wild (FER2013 folder names, CK+ names, capitalisation) -> canonical name.
_ALIASES = {
    "angry": "anger",
    "happiness": "happy",
    "sadness": "sad",
    "surprised": "surprise",
    "fearful": "fear",
    "disgusted": "disgust",
    "neutrality": "neutral",
    "contemptuous": "contempt",
}


def canonical_emotion(name: str) -> str:
    """'Angry' -> 'anger'; a code '0'..'7' -> its AffectNet name. Unknown names come back lower-cased, unchanged."""
    s = str(name).strip().lower()
    if s.isdigit() and int(s) < len(ALL_EMOTIONS):
        return ALL_EMOTIONS[int(s)]
    return _ALIASES.get(s, s)
