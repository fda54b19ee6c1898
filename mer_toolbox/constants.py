"""Facts shared across the package."""

#: MER2024 discrete classes in the order MER2024 and the paper use.
MER2024_CLASSES = ('neutral', 'angry', 'happy', 'sad', 'worried', 'surprise')

#: Modality names the default recipe uses, in the paper's order (video, audio, text).
DEFAULT_MODALITIES = ('video', 'audio', 'text')
