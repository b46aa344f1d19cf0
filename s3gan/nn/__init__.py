"""Network building blocks and the BigGAN / ResNet-v2 architectures."""
