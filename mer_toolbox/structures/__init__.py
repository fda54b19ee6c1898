from .emotion_sample import EmotionSample

__all__ = ['EmotionSample']
