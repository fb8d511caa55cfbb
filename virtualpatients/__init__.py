"""vp: virtual patients from DNA with generative adversarial networks."""

__version__ = "0.1.0"
