# Control tasks: reduce keeps the best branch of a fork; branch is bottom-up feedback.
# The nodes come from the config (src/hlsnake/flows.py); each is found by its path.
from hlsnake.fileio import read_json
from hlsnake.report import design_files


def _reduce_node(w):
    return PLAN.reduces[f"{w.parent}/reduce_{w.node}"]


rule reduce:
    """Evaluate every branch of a fork (hls + synth) and keep the model of the best one."""
    input:
        lambda w: sorted({f for branch in _reduce_node(w).branches for f in design_files(branch)}),
    output:
        model="{parent}/reduce_{node}/model.h5",
        metrics="{parent}/reduce_{node}/metrics.json",
        table="{parent}/reduce_{node}/reduce.csv",
    params:
        branches=lambda w: [branch.path for branch in _reduce_node(w).branches],
        objective=lambda w: _reduce_node(w).objective,
    script:
        "../scripts/reduce.py"


def _branch_node(w):
    return PLAN.branches[f"{w.design}/branch_{w.node}"]


checkpoint branch_check:
    """Build iteration k of a branch (an ordinary design path) and test the predicate on it."""
    input:
        lambda w: design_files(_branch_node(w).iteration(int(w.k))),
    output:
        "{design}/branch_{node}/iter{k}.json",
    params:
        design=lambda w: _branch_node(w).iteration(int(w.k)).path,
        when=lambda w: _branch_node(w).when,
    script:
        "../scripts/branch_check.py"


def _branch_iterations(w):
    """Iterations 0, 1, ... while the predicate fires, at most max_iterations actions."""
    node = _branch_node(w)
    files = []
    for k in range(node.max_iterations + 1):
        if k and node.iteration(k).path == node.iteration(k - 1).path:
            break  # the action no longer changes the design (e.g. a tolerance rounded to 0)
        path = checkpoints.branch_check.get(design=w.design, node=w.node, k=str(k)).output[0]
        files.append(path)
        if not read_json(path)["fired"]:
            break
    return files


rule branch_final:
    """The iteration a branch ended with, and why it stopped."""
    input:
        _branch_iterations,
    output:
        "{design}/branch_{node}/final.json",
    params:
        max_iterations=lambda w: _branch_node(w).max_iterations,
    script:
        "../scripts/branch_final.py"
