"""The emotion categories: names, AffectNet codes and the one palette (models.data.emotions owns it)."""

from fastapi import APIRouter

from backend.schemas import Emotion, EmotionList
from models.data.emotions import ALL_EMOTIONS, EMOTION_COLOURS

router = APIRouter(prefix="/api", tags=["emotions"])


@router.get("/emotions", response_model=EmotionList)
async def list_emotions() -> EmotionList:
    """Every emotion category in AffectNet code order, with its colour on the map."""
    return EmotionList(emotions=[Emotion(name=name, code=code, colour=EMOTION_COLOURS[name])
                                 for code, name in enumerate(ALL_EMOTIONS)])
