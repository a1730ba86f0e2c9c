"""A user's own Keras model file (``model.path``): ``.h5`` or ``.keras``, Sequential or
functional, float or QKeras.

The content decides how a file is read, not its suffix (some ``.keras`` files are HDF5):

* HDF5: tf_keras reads it, QKeras layers through :func:`kerasenv.custom_objects`.
* A ``.keras`` zip archive (``config.json`` + ``model.weights.h5``): tf_keras reads it
  when it can. It cannot read the archives of Keras 2.13-2.15 (the archive files each
  layer's weights under a generic name, ``conv1d`` for a layer called ``conv1d_simple``,
  and tf_keras 2.21 looks them up by the layer's own name), nor those of Keras 3 (their
  config names Keras 3 classes). Such a network is rebuilt from ``config.json`` (a Keras 3
  config translated to Keras 2 first) and its weights are assigned layer by layer: by the
  layer's name, else by its class's generic name in the order Keras numbered them; every
  weight's shape is checked.

Any problem is a :class:`ModelError` that names the file: missing, corrupt, unreadable,
or holding a layer hlsnake does not support (checked here, before any work).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import h5py
import numpy as np

from .graph import ModelError, check_supported
from .kerasenv import custom_objects, keras

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
SUFFIXES = (".h5", ".hdf5", ".keras")


def load_user_model(path, where: str = "model.path") -> keras.Model:
    """The network in ``path``, checked to hold only supported layers."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{where}: model file {path} does not exist")
    if path.suffix.lower() not in SUFFIXES:
        raise ModelError(f"{where}: model file {path} is not a Keras model file (expected {', '.join(SUFFIXES)})")
    with path.open("rb") as f:
        head = f.read(8)
    readers = {HDF5_MAGIC: _read_hdf5, ZIP_MAGIC: _read_archive}
    reader = next((read for magic, read in readers.items() if head.startswith(magic)), None)
    if reader is None:
        raise ModelError(f"{where}: model file {path} is neither HDF5 nor a Keras zip archive (it starts with {head!r}): is it corrupt?")
    model = reader(path, where)
    check_supported(model, where=f"{where} ({path.name})")
    return model


def _unreadable(where: str, path: Path, err: BaseException) -> ModelError:
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return ModelError(f"{where}: model file {path} could not be read as a Keras model: {type(err).__name__}: {text}")


def _read_hdf5(path: Path, where: str) -> keras.Model:
    try:
        with h5py.File(path, "r") as f:
            if "model_config" not in f.attrs:
                raise ModelError(
                    f"{where}: model file {path} holds weights only (no model_config): save the whole model with model.save()"
                )
            return keras.models.load_model(f, custom_objects=custom_objects(), compile=False)
    except ModelError:
        raise
    except Exception as err:  # a truncated or foreign file fails deep inside h5py or Keras
        raise _unreadable(where, path, err) from None


def _read_archive(path: Path, where: str) -> keras.Model:
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            metadata = json.loads(archive.read("metadata.json")) if "metadata.json" in archive.namelist() else {}
            weights = archive.read("model.weights.h5")
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError) as err:
        raise _unreadable(where, path, err) from None
    if path.suffix.lower() == ".keras":
        try:
            return keras.models.load_model(str(path), custom_objects=custom_objects(), compile=False)
        except Exception:  # noqa: BLE001  (the rebuild below says what is wrong if it fails too)
            pass
    try:
        if int(str(metadata.get("keras_version", "2")).split(".")[0]) >= 3:
            config = keras2_config(config)
        model = keras.models.model_from_json(json.dumps(config), custom_objects=custom_objects())
        with h5py.File(io.BytesIO(weights), "r") as store:
            assign_weights(model, _weight_groups(store))
    except ModelError as err:
        raise ModelError(f"{where}: model file {path}: {err}") from None
    except Exception as err:
        raise _unreadable(where, path, err) from None
    return model


# -- weights of an archive ----------------------------------------------------------------


def _weight_groups(store: h5py.File) -> dict[str, list[np.ndarray]]:
    """Each layer's weights in a ``model.weights.h5``, keyed by the name the archive gives
    the layer (the last part of the path before ``/vars``; Windows saves ``\\`` there)."""
    groups: dict[str, list[np.ndarray]] = {}

    def visit(name, obj):
        parts = re.split(r"[\\/]", name)
        if isinstance(obj, h5py.Group) and len(parts) > 1 and parts[-1] == "vars" and len(obj) and parts[0] not in ("optimizer", "metrics"):
            groups[parts[-2]] = [np.asarray(obj[k]) for k in sorted(obj, key=int)]

    store.visititems(visit)
    return groups


def _snake(name: str) -> str:
    """Keras's generic layer name for a class (QConv2D -> q_conv2d)."""
    name = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _numbered(key: str, stem: str) -> int | None:
    match = re.fullmatch(rf"{re.escape(stem)}(?:_(\d+))?", key)
    return None if match is None else int(match[1] or 0)


def assign_weights(model: keras.Model, groups: dict[str, list[np.ndarray]]) -> None:
    """Give every layer that has weights its group: the one under its own name, else the
    next of its class's generic names (``dense``, ``dense_1``, ...) in Keras's numbering."""
    unused = dict(groups)
    for layer in (layer for layer in model.layers if layer.weights):
        key = layer.name if layer.name in unused else None
        if key is None:
            stem = _snake(type(layer).__name__)
            numbered = sorted((n, k) for k in unused if (n := _numbered(k, stem)) is not None)
            key = numbered[0][1] if numbered else None
        if key is None:
            raise ModelError(f"no weights in the archive for layer {layer.name!r} ({type(layer).__name__})")
        arrays = unused.pop(key)
        expected = [tuple(w.shape) for w in layer.weights]
        if [a.shape for a in arrays] != expected:
            raise ModelError(
                f"the archive's weights {key!r} have shapes {[list(a.shape) for a in arrays]}, "
                f"layer {layer.name!r} needs {[list(s) for s in expected]}"
            )
        layer.set_weights(arrays)
    if unused:
        raise ModelError(f"the archive holds weights that match no layer: {', '.join(sorted(unused))}")


# -- Keras 3 configs ----------------------------------------------------------------------

_KERAS3_ONLY = ("module", "registered_name", "build_config", "compile_config", "quantization_config", "optional", "lora_rank", "lora_alpha")


def keras2_config(node):
    """A Keras 3 model config in the Keras 2 form tf_keras deserialises: dtype policies
    become their dtype, ``batch_shape`` becomes ``batch_input_shape``, the graph's nodes
    become ``[layer, node, tensor, kwargs]`` lists, and Keras 3-only keys go."""
    if isinstance(node, list):
        return [keras2_config(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("class_name") in ("DTypePolicy", "FloatDTypePolicy"):
        return node["config"]["name"]
    if node.get("class_name") == "__keras_tensor__":
        return [*node["config"]["keras_history"], {}]
    converted = {}
    for key, value in node.items():
        if key in _KERAS3_ONLY:
            continue
        if key == "inbound_nodes":
            value = [_inbound(entry) for entry in value]
        elif key in ("input_layers", "output_layers") and value and not isinstance(value[0], list):
            value = [value]  # Keras 3 writes a single input/output unnested
        converted["batch_input_shape" if key == "batch_shape" else key] = keras2_config(value)
    return converted


def _inbound(entry):
    if not isinstance(entry, dict):
        return entry
    args = entry["args"][0] if len(entry["args"]) == 1 else entry["args"]
    tensors = args if isinstance(args, list) else [args]
    return [keras2_config(tensor) for tensor in tensors]
