"""Models: classifiers, encoders, fusion necks, heads, losses, preprocessors."""
# importing the subpackages registers their components
from . import (classifiers, data_preprocessors, encoders, heads, losses,
               necks)

__all__ = ['classifiers', 'data_preprocessors', 'encoders', 'heads', 'losses',
           'necks']
