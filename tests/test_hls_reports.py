"""The Vivado/Vitis HLS report parser on every real report of the fixture corpus, checked
against the values INDEX.csv states for it (read off the reports by whoever collected them)."""

from __future__ import annotations

import csv

import pytest

from conftest import HLS_REPORTS, require_fixtures
from hlsnake.synth import hls_reports


def _index():
    index = HLS_REPORTS / "INDEX.csv"
    if not index.is_file():
        return [pytest.param(None, id="fixtures-absent")]
    with index.open(newline="") as f:
        return [pytest.param(row, id=row["dir"]) for row in csv.DictReader(f)]


ROWS = _index()


def _fixture(row):
    require_fixtures(HLS_REPORTS)
    return HLS_REPORTS / row["dir"]


def _check_against_index(record: dict, row: dict) -> None:
    assert record["tool"] == row["tool"]
    assert record["tool_version"] == row["tool_version"]
    assert record["part"] == row["part"]
    assert record["top"] == "myproject"
    assert record["clock_target_ns"] == pytest.approx(float(row["clock_ns"]))
    assert record["clock_estimated_ns"] == pytest.approx(float(row["est_clock_ns"]))
    for key in ("LUT", "FF", "DSP", "BRAM_18K", "URAM", "latency_best", "latency_worst", "interval_min", "interval_max"):
        assert record[key] == int(row[key]), key
    # the tools print the absolute latency at the slower of the target and the estimated
    # clock, rounded to 3 decimals of ns/us/ms: an independent check of cycles and clocks
    period = max(record["clock_target_ns"], record["clock_estimated_ns"])
    for case in ("best", "worst"):
        assert record[f"latency_{case}_ns"] == pytest.approx(record[f"latency_{case}"] * period, rel=2e-3)


def test_the_index_lists_every_report_directory():
    require_fixtures(HLS_REPORTS)
    directories = {p.name for p in HLS_REPORTS.iterdir() if p.is_dir()}
    assert directories == {row.values[0]["dir"] for row in ROWS}
    assert len(directories) == 25


@pytest.mark.parametrize("row", ROWS)
def test_project_record_matches_the_index(row):
    fixture = _fixture(row)
    record = hls_reports.read_project(fixture)
    # the XML is preferred; the text report is read where the project kept only that
    assert record["report"] == str(fixture / row["report_path"])
    assert row["report_format"].startswith("xml") == record["report"].endswith(".xml")
    _check_against_index(record, row)
    if row["synth_tool"]:
        synthesised = record["vivado_synth"]
        assert synthesised["tool"] == row["synth_tool"]
        for key in ("LUT", "FF", "DSP"):
            assert synthesised[key] == int(row[f"synth_{key}"]), key
        assert synthesised["BRAM_tiles"] == float(row["synth_BRAM_tiles"])
        assert synthesised["URAM"] == 0
    else:
        assert "vivado_synth" not in record


@pytest.mark.parametrize("row", ROWS)
def test_text_report_gives_the_same_record(row):
    """Every project keeps the text report of its top function; it must say the same."""
    fixture = _fixture(row)
    (text_report,) = [p for p in fixture.rglob("myproject_csynth.rpt")]
    _check_against_index(hls_reports.parse_csynth_rpt(text_report), row)


def test_dsp_tag_differs_between_the_tools():
    """Vivado HLS says DSP48E, Vitis HLS DSP: both must land in 'DSP' (checked on the files)."""
    require_fixtures(HLS_REPORTS)
    vivado = HLS_REPORTS / "astitwlathe__example-hls4ml__my-hls-test/myproject_prj/solution1/syn/report/myproject_csynth.xml"
    vitis = HLS_REPORTS / "Thifjj__Iris_hls4ml_pynqZ2__iris_mlp/myproject_prj/solution1/syn/report/myproject_csynth.xml"
    assert "<DSP48E>3317</DSP48E>" in vivado.read_text() and "<DSP>110</DSP>" in vitis.read_text()
    assert hls_reports.parse_csynth_xml(vivado)["DSP"] == 3317
    assert hls_reports.parse_csynth_xml(vitis)["DSP"] == 110


def test_unreadable_reports_name_the_file(tmp_path):
    bad = tmp_path / "myproject_csynth.xml"
    bad.write_text("<profile><ReportVersion><Version>2020.1</Version></ReportVersion></profile>")
    with pytest.raises(hls_reports.ReportError, match="myproject_csynth.xml.*not a C-synthesis report"):
        hls_reports.read_project(tmp_path)
    bad.write_text("not xml at all")
    with pytest.raises(hls_reports.ReportError, match="myproject_csynth.xml"):
        hls_reports.parse_csynth_xml(bad)
    text = tmp_path / "x_csynth.rpt"
    text.write_text("some log\n")
    with pytest.raises(hls_reports.ReportError, match="x_csynth.rpt.*header"):
        hls_reports.parse_csynth_rpt(text)
    with pytest.raises(hls_reports.ReportError, match="did C synthesis run"):
        hls_reports.read_project(tmp_path / "empty")


def test_undefined_latency_is_none(tmp_path):
    """A design with data-dependent loops reports '?' cycles: no number is made up."""
    require_fixtures(HLS_REPORTS)
    source = HLS_REPORTS / "Thifjj__Iris_hls4ml_pynqZ2__iris_mlp/myproject_prj/solution1/syn/report/myproject_csynth.xml"
    text = source.read_text().replace("<Worst-caseLatency>32</Worst-caseLatency>", "<Worst-caseLatency>undef</Worst-caseLatency>")
    (tmp_path / "myproject_csynth.xml").write_text(text)
    record = hls_reports.read_project(tmp_path)
    assert record["latency_worst"] is None and record["latency_best"] == 32
