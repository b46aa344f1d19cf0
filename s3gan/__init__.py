"""s3gan: S³GAN-family class-conditional GANs with few labels (Lucic et al., ICML 2019).

Kept import-light on purpose: ``import s3gan.spec`` must not load torch or Ray.
"""

__version__ = "0.1.0"
