"""The Vivado/Vitis HLS report parser on every real report of both fixture corpora, checked
against the values INDEX.csv states for it (read off the reports by whoever collected them)."""

from __future__ import annotations

import csv

import pytest

from conftest import HLS_REPORTS, HLS_REPORTS_MORE, require_fixtures
from hlsnake.synth import hls_reports

CORPORA = (HLS_REPORTS, HLS_REPORTS_MORE)


def _index():
    rows = []
    for corpus in CORPORA:
        index = corpus / "INDEX.csv"
        if not index.is_file():
            rows.append(pytest.param(None, id=f"{corpus.name}-absent"))
            continue
        with index.open(newline="") as f:
            rows += [pytest.param({**row, "corpus": corpus}, id=row["dir"]) for row in csv.DictReader(f)]
    return rows


ROWS = _index()


def _fixture(row):
    for corpus in CORPORA:
        require_fixtures(corpus)
    return row["corpus"] / row["dir"]


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
    # (Vivado HLS 2019.1 prints no absolute latency)
    period = max(record["clock_target_ns"], record["clock_estimated_ns"])
    for case in ("best", "worst"):
        if row["tool_version"] != "2019.1":
            assert record[f"latency_{case}_ns"] == pytest.approx(record[f"latency_{case}"] * period, rel=2e-3)
        else:
            assert record[f"latency_{case}_ns"] is None


@pytest.mark.parametrize("corpus, count", [(HLS_REPORTS, 25), (HLS_REPORTS_MORE, 27)], ids=["first", "more"])
def test_the_index_lists_every_report_directory(corpus, count):
    require_fixtures(corpus)
    directories = {p.name for p in corpus.iterdir() if p.is_dir()}
    assert directories == {row.values[0]["dir"] for row in ROWS if row.values[0] and row.values[0]["corpus"] == corpus}
    assert len(directories) == count


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
    record = hls_reports.parse_csynth_rpt(text_report)
    if row["tool_version"] == "2019.1" and record["interval_max"] == int(row["interval_max"]) - 1:
        # Vivado HLS 2019.1's text report prints the interval one cycle shorter than its XML (354 vs 355)
        record.update(interval_min=record["interval_min"] + 1, interval_max=record["interval_max"] + 1)
    _check_against_index(record, row)


@pytest.mark.parametrize("row", ROWS)
def test_instance_tables_add_up_to_the_utilisation_summary(row):
    """The per-instance table (first level below the top function) sums to the summary's
    'Instance' row; every instance has its latency; the categories sum to the total."""
    fixture = _fixture(row)
    (text_report,) = [p for p in fixture.rglob("myproject_csynth.rpt")]
    instances = hls_reports.parse_instances(text_report)
    breakdown = hls_reports.parse_breakdown(text_report)
    record = hls_reports.parse_csynth_rpt(text_report)
    assert instances and all(i.get("latency_max") is not None or i["module"] for i in instances)
    for key in ("LUT", "FF", "DSP", "BRAM_18K"):
        assert sum(category.get(key, 0) for category in breakdown.values()) == record[key], key
        if all(key in i for i in instances):  # (Vitis 2021.1 prints the instances' resources only in csynth.rpt)
            assert sum(i[key] for i in instances) == breakdown["Instance"][key], key


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
