"""The Bayesian search: space, controller, scores, failure records (no Snakemake), and the
real workflow on a tiny space (a failing design, reruns, a larger budget, the grid)."""

import collections
import json
import re
import shutil
import subprocess
import sys
import types

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import run_workflow, tiny_config
from hlsnake import config as hlsnake_config
from hlsnake import artifacts, failures, samplers, search, space, trials
from hlsnake.designs import parse_design_path


def validated(**search_section):
    return hlsnake_config.validate(tiny_config(search=search_section))


SPACE = {
    "sparsity": {"low": 0.0, "high": 0.9, "step": 0.05},
    "weight_bits": {"low": 3, "high": 10},
    "reuse_factor": {"choices": [1, 2, 4]},
}
SCORE = {
    "accuracy_floor": 0.9,
    "weights": {"DSP": 0.5, "LUT": 0.5, "FF": 0.0, "latency_cycles": 0.0},
    "budgets": {"DSP": 100, "LUT": 10000, "FF": 20000, "latency_cycles": 50},
}


# -- the space ----------------------------------------------------------------------------


def test_range_values_have_one_spelling_and_round_trip_through_hyperopt_values():
    cfg = validated(space=SPACE)
    s = space.Space.from_config(cfg)
    sparsity = next(k for k in s.knobs if k.name == "sparsity")
    assert sparsity.values[3] == 0.15 and len(sparsity.values) == 19 and sparsity.values[-1] == 0.9
    assert s.size == 19 * 8 * 3
    for point in s.points():
        assert s.point(s.vals(point)) == point


def test_point_flow_leaves_out_prune_at_zero_and_quantize_at_null():
    cfg = validated(space={"sparsity": {"choices": [0.0, 0.5]}, "weight_bits": {"choices": [None, 4]}})
    paths = sorted(space.design(cfg, p).path.split("/train/")[1] for p in space.Space.from_config(cfg).points())
    assert paths == [
        "hls_rf1_latency_parallel/synth_estimate",
        "prune_s0.50/hls_rf1_latency_parallel/synth_estimate",
        "prune_s0.50/quant_w4_a4/hls_rf1_latency_parallel/synth_estimate",
        "quant_w4_a4/hls_rf1_latency_parallel/synth_estimate",
    ]


def test_per_layer_bits_search_each_layer():
    # tiny model: one hidden layer -> 2 weight layers, 1 activation
    cfg = validated(space={"weight_bits": {"choices": [4, 6], "per_layer": True}, "activation_bits": {"low": 5, "high": 6}})
    s = space.Space.from_config(cfg)
    assert s.labels == ["weight_bits[0]", "weight_bits[1]", "activation_bits"] and s.size == 8
    point = {"weight_bits": [6, 4], "activation_bits": 5}
    assert space.design(cfg, point).path.endswith("/train/quant_w6-4_a5/hls_rf1_latency_parallel/synth_estimate")
    assert s.point(s.vals(point)) == point


@pytest.mark.parametrize(
    "section, key",
    [
        ({"space": {"sparsity": {"choices": [0.333]}}}, "search.space.sparsity"),
        ({"space": {"sparsity": {"low": 0.0, "high": 0.5, "step": 0.005}}}, "search.space.sparsity"),
        ({"space": {"weight_bits": {"low": 8, "high": 4}}}, "search.space.weight_bits"),
        ({"space": {"weight_bits": {"choices": [4, 6], "per_layer": True}}}, "search.space.activation_bits"),
        ({"space": {"reuse_factor": {"choices": [0]}}}, "search.space.reuse_factor"),
        ({"space": {"strategy": {"choices": ["fast"]}}}, "search.space.strategy"),
        ({"budget": 0}, "search.budget"),
        ({"score": {"weights": {"BRAM": 1}}}, "search.score.weights"),
    ],
)
def test_config_errors_name_the_key(section, key):
    with pytest.raises(hlsnake_config.ConfigError, match=re.escape(key)):
        validated(**section)


def test_nested_command_line_values_are_read_as_numbers():
    # snakemake --config 'search={budget: 60, score: {accuracy_floor: 0.9}}' gives strings
    cfg = validated(budget="60", batch="null", score={"accuracy_floor": "0.9"})
    assert cfg["search"]["budget"] == 60 and cfg["search"]["batch"] == 1  # null: the cores of the run (one here)
    assert cfg["search"]["score"]["accuracy_floor"] == 0.9


# -- the controller -----------------------------------------------------------------------


def test_an_empty_space_is_an_error_that_names_the_key_and_shows_an_example(tmp_path):
    cfg = validated()
    for study in (lambda: search.propose_round([], tmp_path / "search/round0/proposals.json", 0, cfg), lambda: search.grid(cfg)):
        with pytest.raises(space.SpaceError, match=r"search\.space is empty") as err:
            study()
        example = yaml.safe_load(str(err.value).split("for example:")[1].split("Every knob")[0])
        assert space.Space.from_spec(example["search"]["space"], cfg["model"], "search.space").size > 1  # a valid space
    assert not (tmp_path / "search").exists()


def _space_and_paths():
    cfg = validated(space=SPACE)
    return space.Space.from_config(cfg), (lambda point: space.design(cfg, point).path)


def _propose(s, design_of, finished, n=4, seed=7, round=0, startup=4, sampler="tpe"):
    rng = np.random.default_rng([seed, round])
    settings = {"startup": startup, "retries": 10}
    return samplers.sampler(sampler).propose(s, finished, n, rng=rng, design_of=design_of, settings=settings)


def _finish(proposals, losses):
    return [samplers.Finished(p["point"], p["design"], loss) for p, loss in zip(proposals, losses)]


def test_proposals_are_deterministic_for_a_seed():
    s, design_of = _space_and_paths()
    first = _propose(s, design_of, [])
    assert first == _propose(s, design_of, [])
    assert first != _propose(s, design_of, [], seed=8)
    assert len({p["design"] for p in first}) == 4


def test_the_next_round_depends_on_the_results_of_the_earlier_ones():
    s, design_of = _space_and_paths()
    earlier = _propose(s, design_of, [], n=8, startup=8)
    losses = [float(i) for i in range(8)]
    after = _propose(s, design_of, _finish(earlier, losses), round=1)
    permuted = _propose(s, design_of, _finish(earlier, losses[::-1]), round=1)
    assert all(p["origin"].startswith("tpe") for p in after)
    assert [p["point"] for p in after] != [p["point"] for p in permuted]


def test_tpe_moves_towards_the_better_trials():
    """Low loss at low sparsity: the TPE round proposes lower sparsities than random ones."""
    s, design_of = _space_and_paths()
    finished = []
    for r in range(6):
        batch = _propose(s, design_of, finished, round=r, startup=8)
        finished += _finish(batch, [p["point"]["sparsity"] for p in batch])
    tpe_rounds = [f.point["sparsity"] for f in finished[12:]]
    assert np.mean(tpe_rounds) < np.mean([f.point["sparsity"] for f in finished[:8]])


def test_batches_never_repeat_a_tried_design_and_end_when_the_space_is_exhausted():
    cfg = validated(space={"sparsity": {"choices": [0.0, 0.5]}, "weight_bits": {"choices": [None, 6]}})
    s = space.Space.from_config(cfg)
    design_of = lambda point: space.design(cfg, point).path  # noqa: E731
    finished = []
    for r in range(3):
        batch = _propose(s, design_of, finished, n=3, round=r, startup=1)
        finished += _finish(batch, [None if p["point"]["sparsity"] else 0.0 for p in batch])  # failures too
    assert sorted(f.design for f in finished) == sorted({space.design(cfg, p).path for p in s.points()})
    assert _propose(s, design_of, finished, round=3) == []


def test_a_covering_start_takes_every_value_equally_often_and_holds_across_rounds():
    s, design_of = _space_and_paths()
    start = samplers.covering_start(s, 6, seed=7)
    assert start == samplers.covering_start(s, 6, seed=7) != samplers.covering_start(s, 6, seed=8)
    assert sorted(collections.Counter(p["reuse_factor"] for p in start).values()) == [2, 2, 2]  # 3 values, 6 points
    assert max(collections.Counter(p["weight_bits"] for p in start).values()) == 1  # 8 values
    assert min(s.distance(a, b) for i, a in enumerate(start) for b in start[i + 1 :]) > 0.5
    settings = {"startup": 6, "retries": 10, "seed": 7, "start": "cover"}

    def propose(finished, n, round):
        rng = np.random.default_rng([7, round])
        return samplers.sampler("tpe").propose(s, finished, n, rng=rng, design_of=design_of, settings=settings)

    first = propose([], 4, 0)
    then = propose(_finish(first, [1.0, 2.0, 3.0, 4.0]), 4, 1)  # the set's last two, then TPE
    assert [p["point"] for p in first + then[:2]] == start
    assert [p["origin"] for p in first + then] == ["cover start"] * 6 + ["tpe", "tpe"]


def test_a_repeated_proposal_falls_back_to_the_nearest_untried_design():
    s, design_of = _space_and_paths()
    wanted = {"sparsity": 0.5, "weight_bits": 6, "reuse_factor": 2}
    tried = {design_of(p) for p in s.points() if p["weight_bits"] == 6 or p["sparsity"] < 0.3}
    near = samplers.untried_near(s, wanted, np.random.default_rng(0), tried, design_of)
    # one weight-bit step away beats any other move; the reuse factor is kept
    assert near["sparsity"] == 0.5 and near["weight_bits"] in (5, 7) and near["reuse_factor"] == 2
    assert samplers.untried_near(s, wanted, np.random.default_rng(0), {design_of(p) for p in s.points()}, design_of) is None


def test_a_round_proposes_up_to_the_budget_and_numbers_its_trials(tmp_path):
    cfg = validated(space=SPACE, budget=5, batch=4, startup=2)
    first = search.propose_round([], tmp_path / "search/round0/proposals.json", 0, cfg)
    assert [p["trial"] for p in first["proposals"]] == [0, 1, 2, 3]
    rows = [{"trial": p["trial"], "round": 0, "point": json.dumps(p["point"]), "design": p["design"], "status": "ok",
             "accuracy": 0.95, "val_accuracy": 0.95, "DSP": 10, "LUT": 1000, "FF": 10, "latency_cycles": 10}
            for p in first["proposals"]]
    pd.DataFrame(rows).to_csv(tmp_path / "r0.csv", index=False)
    second = search.propose_round([tmp_path / "r0.csv"], tmp_path / "search/round1/proposals.json", 1, cfg)
    assert [p["trial"] for p in second["proposals"]] == [4] and second["requested"] == 1
    assert first["proposals"][2]["origin"].startswith("tpe") or first["proposals"][2]["origin"] == "random start"


def test_the_random_study_draws_its_own_points_in_the_same_rounds(tmp_path):
    cfg = validated(space=SPACE, budget=5, batch=4, startup=2)
    tpe = search.propose_round([], tmp_path / "search/round0/proposals.json", 0, cfg)
    rand = search.propose_round([], tmp_path / "random/round0/proposals.json", 0, cfg)
    assert [p["trial"] for p in rand["proposals"]] == [0, 1, 2, 3]
    assert {p["origin"] for p in rand["proposals"]} == {"random"}
    assert [p["design"] for p in rand["proposals"]] != [p["design"] for p in tpe["proposals"]]
    assert len({p["design"] for p in rand["proposals"]}) == 4  # never a design twice


def test_random_proposals_ignore_the_results_and_never_repeat_a_design():
    """The baseline draws the same points whatever the earlier trials scored (TPE does not)."""
    s, design_of = _space_and_paths()
    earlier = _propose(s, design_of, [], n=8, sampler="random")
    losses = [float(i) for i in range(8)]
    after = _propose(s, design_of, _finish(earlier, losses), round=1, sampler="random")
    assert after == _propose(s, design_of, _finish(earlier, losses[::-1]), round=1, sampler="random")
    assert {p["origin"] for p in after} == {"random"}
    assert not {p["design"] for p in after} & {p["design"] for p in earlier}


def test_random_points_cover_the_space_uniformly():
    s, design_of = _space_and_paths()
    points = _propose(s, design_of, [], n=200, sampler="random")
    counts = collections.Counter(p["point"]["reuse_factor"] for p in points)
    assert len(points) == 200 and min(counts.values()) > 200 / len(counts) / 2


def _round_files(tmp_path, study, rounds):
    """Round files of a study as the workflow writes them: each round's proposals and results."""
    trial = 0
    for r, rows in enumerate(rounds):
        directory = tmp_path / study / f"round{r}"
        directory.mkdir(parents=True)
        proposals = [{"trial": trial + i, "design": row["design"], "point": {}} for i, row in enumerate(rows)]
        (directory / "proposals.json").write_text(json.dumps({"round": r, "requested": 2, "proposals": proposals}))
        base = {"round": r, "point": "{}", "origin": "tpe", "FF": 1, "latency_cycles": 10, "status": "ok"}
        pd.DataFrame([{**base, "trial": trial + i, **row} for i, row in enumerate(rows)]).to_csv(directory / "results.csv", index=False)
        trial += len(rows)
    return [tmp_path / study / f"round{r}" / "results.csv" for r in range(len(rounds))]


def test_each_round_prints_one_line_of_progress(tmp_path):
    cfg = validated(space=SPACE, score=SCORE, budget=7, batch=2)
    a = {"design": "a", "accuracy": 0.95, "val_accuracy": 0.95, "DSP": 50, "LUT": 5000}  # score 0.95 + 0.25 + 0.25
    b = {"design": "b", "accuracy": 0.92, "val_accuracy": 0.92, "DSP": 20, "LUT": 4000}  # 0.92 + 0.4 + 0.3
    low = {"design": "c", "accuracy": 0.80, "val_accuracy": 0.80, "DSP": 1, "LUT": 1}  # below the floor
    files = _round_files(tmp_path, "search", [[a, low], [b]])
    assert search.round_progress(files[0], 0, cfg) == "search round 1/4: 2 trials done, best score 1.4500, hypervolume 0.1250"
    # the second round proposed one design of the two it asked for: the space ran out, it was the last
    volume = 0.5 * 0.5 * 0.5 + 0.2 * 0.8 * 0.6 - 0.2 * 0.5 * 0.5  # see test_summary_marks_infeasible...
    assert search.round_progress(files[1], 1, cfg) == f"search round 2/2: 3 trials done, best score 1.6200, hypervolume {volume:.4f}"
    (nothing,) = _round_files(tmp_path, "random", [[low]])
    assert search.round_progress(nothing, 0, cfg).endswith("1 trials done, best score none feasible, hypervolume 0.0000")


# -- scores and tables --------------------------------------------------------------------


def test_score_feasibility_and_loss_by_hand():
    # decisions use the validation accuracy; the test accuracy does not move the score
    row = {"status": "ok", "accuracy": 0.5, "val_accuracy": 0.95, "DSP": 50, "LUT": 2000, "FF": 1, "latency_cycles": 1}
    status, _, value = trials.assess(row, SCORE)
    assert status == "ok" and value == pytest.approx(0.95 + 0.5 * 0.5 + 0.5 * 0.8)
    low = {**row, "accuracy": 0.99, "val_accuracy": 0.85}
    assert trials.assess(low, SCORE)[0] == "infeasible"
    assert trials.loss(row, SCORE) == pytest.approx(-value)
    assert trials.loss(low, SCORE) > trials.loss({**row, "DSP": 10**6}, SCORE)  # infeasible after any feasible
    assert trials.loss({"status": "failed", "reason": "x"}, SCORE) is None


def _results_file(path, rows):
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_summary_marks_infeasible_and_failed_and_measures_the_front(tmp_path):
    base = {"round": 0, "point": "{}", "origin": "grid", "FF": 1, "latency_cycles": 10, "status": "ok"}
    rows = [
        {**base, "trial": 0, "design": "a", "accuracy": 0.95, "val_accuracy": 0.95, "DSP": 50, "LUT": 5000},
        {**base, "trial": 1, "design": "b", "accuracy": 0.92, "val_accuracy": 0.92, "DSP": 20, "LUT": 4000},
        {**base, "trial": 2, "design": "c", "accuracy": 0.91, "val_accuracy": 0.91, "DSP": 60, "LUT": 6000},  # dominated by a
        {**base, "trial": 3, "design": "d", "accuracy": 0.80, "val_accuracy": 0.80, "DSP": 1, "LUT": 1},  # below the floor
        {"trial": 4, "round": 0, "point": "{}", "origin": "grid", "design": "e", "status": "failed", "reason": "NaN"},
    ]
    out = {k: tmp_path / n for k, n in {"trials": "t.csv", "pareto": "p.csv", "hypervolume": "h.json", "fronts": "f.png", "progress": "g.png"}.items()}
    frame = trials.summarise([_results_file(tmp_path / "r.csv", rows)], out, SCORE, ["accuracy", "DSP", "LUT"])
    assert frame["status"].tolist() == ["ok", "ok", "ok", "infeasible", "failed"]
    assert pd.read_csv(out["pareto"])["design"].tolist() == ["a", "b"]
    # normalised: a = (0.5, 0.5, 0.5), b = (0.2, 0.2, 0.4); union of their boxes
    a, b = 0.5 * 0.5 * 0.5, 0.2 * 0.8 * 0.6
    overlap = 0.2 * 0.5 * 0.5
    summary = json.loads(out["hypervolume"].read_text())
    assert summary["hypervolume"] == pytest.approx(a + b - overlap)
    assert summary["reference_point"] == {"accuracy": 0.9, "DSP": 100, "LUT": 10000}
    assert frame["hypervolume"].tolist() == pytest.approx([a, a + b - overlap] + [a + b - overlap] * 3)
    assert out["fronts"].stat().st_size > 10_000 and out["progress"].stat().st_size > 10_000


# -- failure records ----------------------------------------------------------------------


def _job(tmp_path, stage, inputs=()):
    out = tmp_path / stage
    return types.SimpleNamespace(input=list(inputs), output=[str(out / "model.h5"), str(out / "metrics.json")])


def test_a_design_failure_is_recorded_and_passed_on(tmp_path):
    assert failures.run_stage(_job(tmp_path, "prune_s0.90"), _diverge) is None  # the job exits normally
    record = artifacts.stage_failure(tmp_path / "prune_s0.90")
    assert record["failed_stage"] == "prune_s0.90" and record["reason"].startswith("TrainingDiverged: training diverged")
    assert (tmp_path / "prune_s0.90" / "model.h5").stat().st_size == 0

    ran = []
    failures.run_stage(_job(tmp_path, "quant_w4_a4", [tmp_path / "prune_s0.90" / "model.h5"]), lambda: ran.append(1))
    assert not ran and artifacts.stage_failure(tmp_path / "quant_w4_a4")["failed_stage"] == "prune_s0.90"


class TrainingDiverged(failures.DesignFailed):
    """Stands in for training.TrainingDiverged (which would load TensorFlow here)."""


def _diverge():
    raise TrainingDiverged("training diverged: loss became nan at epoch 1")


def _called_process_error():
    subprocess.run([sys.executable, "-c", "raise SystemExit(3)"], check=True)


def _floating_point_error():
    with np.errstate(divide="raise"):
        return np.float64(1.0) / np.float64(0.0)


def _timeout_error():
    raise TimeoutError("a lock we wait for")


def _timeout_expired():
    subprocess.run([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.1)


def _bare_exception():
    raise Exception("Failed to compile project")  # hls4ml's words, but raised by our own code


# errors of our own code, of the kinds that were once taken for the design's
BUGS = {
    "CalledProcessError": _called_process_error,
    "FloatingPointError": _floating_point_error,
    "TimeoutError": _timeout_error,
    "TimeoutExpired": _timeout_expired,
    "Exception": _bare_exception,
    "TypeError": lambda: None + 1,
}


@pytest.mark.parametrize("kind", BUGS)
def test_a_bug_fails_the_job_and_leaves_no_record(tmp_path, kind):
    """Only a DesignFailed is the design's: any other error, whatever its type, propagates
    from the rule script's call and writes nothing (no record, no empty outputs, no log)."""
    for run in (failures.run_stage, failures.run_recorded):
        with pytest.raises(Exception) as raised:
            run(_job(tmp_path, "prune_s0.50"), BUGS[kind])
        assert type(raised.value).__name__ == kind and not failures.is_design_failure(raised.value)
        assert not (tmp_path / "prune_s0.50").exists()


def test_an_automatic_task_rejects_a_failing_candidate_but_stops_on_a_bug():
    from hlsnake.candidates import CandidateLog

    record = CandidateLog("prune", 0.9, 0.01, relative=False, log=lambda *_: None)
    assert record.evaluate({"sparsity": 0.9}, _diverge) == (False, None)  # rejected, and the task goes on
    assert record.rows[0]["reason"] == "TrainingDiverged: training diverged: loss became nan at epoch 1"
    for bug in (_floating_point_error, _called_process_error, _timeout_error):
        with pytest.raises((FloatingPointError, subprocess.CalledProcessError, TimeoutError)):
            record.evaluate({"sparsity": 0.5}, bug)
    assert len(record.rows) == 1


STAND_IN = """
def build(model):
    raise Exception("Failed to compile project")

def write(model):
    raise OSError(28, "No space left on device")
"""


def test_only_an_error_raised_inside_hls4ml_becomes_the_design_failure(tmp_path, monkeypatch):
    """failures_inside turns what a package (hls4ml; a stand-in here) raises at its work into
    the design's failure; a call that fails before it gets into the package (wrong
    arguments), our own code and an error of the environment pass as they are."""
    (tmp_path / "hls4ml_stand_in").mkdir()
    (tmp_path / "hls4ml_stand_in" / "__init__.py").write_text(STAND_IN)
    monkeypatch.syspath_prepend(str(tmp_path))
    import hls4ml_stand_in as package

    monkeypatch.setitem(sys.modules, "hls4ml_stand_in", package)  # forgotten again when the test ends

    class Failed(failures.DesignFailed):
        pass

    def inside(call):
        with failures.failures_inside("hls4ml_stand_in", Failed, "hls4ml could not build it"):
            call()

    with pytest.raises(Failed, match=r"^hls4ml could not build it: Exception: Failed to compile project$") as raised:
        inside(lambda: package.build("model"))
    assert failures.is_design_failure(raised.value) and type(raised.value.__cause__) is Exception
    for bug, kind in ((lambda: package.build(), TypeError), (_bare_exception, Exception), (lambda: package.write(0), OSError)):
        with pytest.raises(Exception) as raised:
            inside(bug)
        assert type(raised.value) is kind


# -- the real workflow ----------------------------------------------------------------------

# Pruning with an absurd learning rate diverges (a real NaN loss): every pruned design fails.
FAILING_PRUNE = {"epochs": 2, "recovery_epochs": 1, "learning_rate": 1e30}
TINY_SEARCH = {
    "budget": 3,
    "batch": 2,
    "startup": 2,
    "space": {"sparsity": {"choices": [0.0, 0.5]}, "weight_bits": {"choices": [None, 6]}},
    "score": {"accuracy_floor": 0.5, "budgets": {"DSP": 2000, "LUT": 200000, "FF": 400000, "latency_cycles": 100}},
}
ROOT = "results/digits/mlp"


def search_config(**search_overrides):
    return tiny_config(prune=FAILING_PRUNE, search={**TINY_SEARCH, **search_overrides})


def job_counts(proc) -> dict:
    """Jobs that ran, by rule (the 'Job stats' table misses the jobs added after a checkpoint)."""
    return collections.Counter(re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", proc.stdout + proc.stderr))


def run(workdir, config, target, **kwargs):
    """run_workflow with the target before --configfile (which takes several files)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return run_workflow(workdir, None, target, "--configfile", str(workdir / "config.yaml"), **kwargs)


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """One finished search, read only: tests that run it on get their own copy."""
    workdir = tmp_path_factory.mktemp("search")
    proc = run(workdir, search_config(), "search")
    return workdir, proc


def copy_of(workdir, to):
    """A copy of a finished run (results and Snakemake's records, times kept), so that a
    test that runs it on neither sees nor leaves another test's runs, in any order."""
    shutil.copytree(workdir, to, symlinks=True)
    return to


@pytest.fixture
def searched_copy(searched, tmp_path):
    return copy_of(searched[0], tmp_path / "search")


@pytest.fixture(scope="module")
def searched_further(searched, tmp_path_factory):
    """The finished search run on, in a copy, to a budget of 4 (the whole space): read only
    (a test that runs it on copies it too); and that run's output."""
    workdir = copy_of(searched[0], tmp_path_factory.mktemp("search_further") / "search")
    return workdir, run(workdir, search_config(budget=4), "search")


@pytest.mark.workflow
def test_a_failing_trial_does_not_stop_the_search(searched):
    workdir, _ = searched
    table = pd.read_csv(workdir / ROOT / "search/trials.csv")
    assert len(table) == 3 and table["design"].is_unique
    failed = table[table["status"] == "failed"]
    assert len(failed) and failed["reason"].str.contains("diverged").all()
    assert (failed["failed_stage"] == "prune_s0.50").all() and not failed["feasible"].any()
    ok = table[table["status"] == "ok"]
    assert len(ok) and (ok["accuracy"] > 0.5).all() and ok["resource_source"].str.startswith("estimate").all()
    assert (ok["LUT_err_pct"] > 0).all() and failed["LUT_err_pct"].isna().all()  # estimates carry their error
    pareto = pd.read_csv(workdir / ROOT / "search/pareto.csv")
    assert set(pareto["design"]) <= set(ok["design"]) and len(pareto)
    assert json.loads((workdir / ROOT / "search/hypervolume.json").read_text())["failed"] == len(failed)


@pytest.mark.workflow
def test_the_search_prints_one_line_per_round(searched):
    _, proc = searched
    lines = re.findall(r"^search round .*$", proc.stdout + proc.stderr, re.M)
    assert [line.split(":")[0] for line in lines] == ["search round 1/2", "search round 2/2"]
    assert re.fullmatch(r"search round 2/2: 3 trials done, best score \d\.\d{4}, hypervolume \d\.\d{4}", lines[1])


@pytest.mark.workflow
def test_a_search_without_a_space_stops_before_any_work(tmp_path):
    config = tiny_config(search={"budget": 3})  # a user's config: no search.space
    for study in ("search", "grid"):
        proc = run(tmp_path, config, study, check=False)
        assert proc.returncode != 0 and "search.space is empty" in proc.stderr and "sparsity: {choices:" in proc.stderr
        assert "Traceback" not in proc.stderr and not (tmp_path / "results").exists()


@pytest.mark.workflow
def test_a_finished_search_reruns_nothing(searched_copy):
    workdir = searched_copy
    proc = run(workdir, search_config(), "search")
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.workflow
def test_a_larger_budget_runs_only_the_new_trials(searched, searched_further):
    before = pd.read_csv(searched[0] / ROOT / "search/trials.csv")
    workdir, proc = searched_further
    counts = job_counts(proc)
    assert counts.get("study_propose") == 1 and counts.get("evaluate") == 1
    assert not {"prepare_data", "train"} & set(counts)
    after = pd.read_csv(workdir / ROOT / "search/trials.csv")
    assert len(after) == 4 and after["design"].is_unique
    pd.testing.assert_frame_equal(after.iloc[:3][["design", "status", "accuracy"]], before[["design", "status", "accuracy"]])


@pytest.mark.workflow
def test_the_grid_shares_the_search_cache(searched_further, tmp_path):
    workdir = copy_of(searched_further[0], tmp_path / "search")  # searched the whole space (4 designs)
    proc = run(workdir, search_config(budget=4), "grid")
    counts = job_counts(proc)
    assert not {"train", "model_step", "model_step_auto", "hls_convert"} & set(counts)
    grid = pd.read_csv(workdir / ROOT / "grid/trials.csv")
    found = pd.read_csv(workdir / ROOT / "search/trials.csv")
    assert sorted(grid["design"]) == sorted(found["design"])
    assert parse_design_path(grid["design"][0]).dataset == "digits"


@pytest.mark.workflow
def test_a_bad_search_section_stops_before_any_work(tmp_path):
    proc = run(tmp_path, search_config(space={"sparsity": {"choices": [0.333]}}), "search", check=False)
    assert proc.returncode != 0 and "search.space.sparsity" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_space_searches_tolerances_and_task_orders():
    from hlsnake.config import ConfigError, validate
    from hlsnake.space import design

    config = validate({"search": {"space": {
        "prune_tolerance": {"choices": [0.01, 0.02]},
        "quantize_tolerance": {"choices": [0.005]},
        "order": {"choices": ["prune>quantize", "quantize>prune"]},
    }}})
    designs = [p["design"] for p in search.grid(config)]
    assert len(designs) == 4
    assert "results/digits/mlp/train/quant_a0.0050/prune_a0.0200/hls_rf1_latency_parallel/synth_estimate" in designs
    point = {"scale_tolerance": 0.005, "sparsity": 0.5, "order": "prune>scale"}
    assert design(config, point).label == "prune_s0.50 scale_a0.0050"
    with pytest.raises(ConfigError, match="either fixed \\(sparsity\\) or automatic"):
        validate({"search": {"space": {"sparsity": {"choices": [0.5]}, "prune_tolerance": {"choices": [0.01]}}}})
