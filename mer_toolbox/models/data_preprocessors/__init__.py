from .emotion_preprocessor import EmotionDataPreprocessor, stack_or_pad

__all__ = ['EmotionDataPreprocessor', 'stack_or_pad']
