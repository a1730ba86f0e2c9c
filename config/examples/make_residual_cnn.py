"""Write the example user model: a small residual CNN for the digits images (8x8x1, 10
classes), untrained, saved as HDF5 for ``model: {type: keras, path: ..., pretrained: false}``.

    python3 config/examples/make_residual_cnn.py models/residual_cnn.h5 [--seed 0]

A stem convolution, two residual blocks and a classifier, with BatchNorm after every
convolution:

    x (8x8x1) -> Conv 3x3 (8) -> BN -> ReLU
      block 1: Conv 3x3 (8) -> BN -> ReLU -> Conv 3x3 (8) -> BN, + identity -> ReLU
      MaxPool 2x2 (4x4x8)
      block 2: Conv 3x3 (16) -> BN -> ReLU -> Conv 3x3 (16) -> BN, + Conv 1x1 (16) -> BN -> ReLU
      GlobalAveragePooling -> Dense (10) -> softmax

Nothing it writes is committed: the file is an output, like any result.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))  # run from a clone without installing

from hlsnake.kerasenv import keras, seed_everything  # noqa: E402  (first: sets up tf_keras)

layers = keras.layers


def _conv_bn(x, filters: int, kernel: int, name: str):
    x = layers.Conv2D(filters, kernel, padding="same", name=name)(x)
    return layers.BatchNormalization(name=f"{name}_bn")(x)


def _block(x, filters: int, name: str):
    shortcut = x if x.shape[-1] == filters else _conv_bn(x, filters, 1, f"{name}_proj")
    y = layers.ReLU(name=f"{name}_relu1")(_conv_bn(x, filters, 3, f"{name}_conv1"))
    y = _conv_bn(y, filters, 3, f"{name}_conv2")
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([shortcut, y]))


def residual_cnn(input_shape=(8, 8, 1), n_classes: int = 10, filters=(8, 16)) -> keras.Model:
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.ReLU(name="stem_relu")(_conv_bn(inputs, filters[0], 3, "stem"))
    x = _block(x, filters[0], "block1")
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = _block(x, filters[1], "block2")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(n_classes, name="output")(x)
    outputs = layers.Activation("softmax", name="softmax")(x)
    return keras.Model(inputs, outputs, name="residual_cnn")


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the model (.h5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    args = parser.parse_args(argv)
    seed_everything(args.seed)
    model = residual_cnn()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out, save_format="h5")
    print(f"wrote {args.out}: {model.count_params()} parameters, {len(model.layers)} layers")
    return args.out


if __name__ == "__main__":
    main()
