"""Models: classifiers, encoders, fusion necks, heads, losses, preprocessors."""
from . import (classifiers, data_preprocessors, encoders, heads, losses,
               necks)  # noqa: F401  (imports register the components)
