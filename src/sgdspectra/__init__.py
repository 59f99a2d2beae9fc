"""sgdspectra: test the SGD-to-spectra theory of weight dynamics."""

__version__ = "0.1.0"

