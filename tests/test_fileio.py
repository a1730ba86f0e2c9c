"""Atomic writes: whole files or none, readable like any other new file."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from hlsnake.fileio import atomic_path, write_csv, write_json, write_text


@pytest.fixture(params=[0o022, 0o002, 0o077], ids=["umask022", "umask002", "umask077"])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_written_files_honour_the_umask(tmp_path, umask):
    """A shared cluster's results folder: colleagues read what the umask lets them read
    (mkstemp alone would make every result 0600)."""
    write_json(tmp_path / "metrics.json", {"accuracy": 0.9})
    write_csv(tmp_path / "summary.csv", pd.DataFrame({"a": [1]}))
    write_text(tmp_path / "summary.html", "<p>ok</p>")
    with atomic_path(tmp_path / "model.h5") as tmp:
        tmp.unlink()  # writers such as h5py create the file anew
        tmp.write_bytes(b"\x89HDF")
    expected = 0o666 & ~umask
    assert {p.name: oct(_mode(p)) for p in tmp_path.iterdir()} == {
        name: oct(expected) for name in ("metrics.json", "summary.csv", "summary.html", "model.h5")
    }


def test_a_failed_writer_leaves_neither_file_nor_temporary(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "metrics.json") as tmp:
            tmp.write_text("{half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
