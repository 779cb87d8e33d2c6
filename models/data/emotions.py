"""Emotion categories and the published AffectNet valence-arousal statistics.

Codes follow AffectNet (0 neutral ... 6 anger, 7 contempt). The statistics are AffectNet's training-set mean and
standard deviation (ddof=1) of valence and arousal per category, as used for annotation transfer by the LeVAsa paper.
No contempt row is published: a dataset with contempt must bring its own statistics or drop the class.
"""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger")
ALL_EMOTIONS: tuple[str, ...] = (*EMOTIONS, "contempt")  # AffectNet codes 0-7

# The one palette of the categories (the report's figures, the explorer page via GET /api/emotions), in code order:
# matplotlib's tab10 colours, so a category keeps its colour between a notebook plot and the page.
EMOTION_COLOURS: dict[str, str] = {
    "neutral": "#7f7f7f",
    "happy": "#2ca02c",
    "sad": "#1f77b4",
    "surprise": "#ff7f0e",
    "fear": "#9467bd",
    "disgust": "#8c564b",
    "anger": "#d62728",
    "contempt": "#e377c2",
}
assert tuple(EMOTION_COLOURS) == ALL_EMOTIONS, "one colour per AffectNet category, in code order"

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
