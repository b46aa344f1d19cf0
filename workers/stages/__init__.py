"""The pipeline's stages: pretrain F, infer labels, train the GAN, evaluate it (one module each)."""
