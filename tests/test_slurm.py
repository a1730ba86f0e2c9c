"""The workflow on a real SLURM cluster: a single-node cluster on localhost (munged,
slurmctld, slurmd from Debian's munge and slurm-wlm, all under a scratch directory and
stopped by PID), driven through workflow/profiles/slurm like a user would, plus the
settings that only a cluster without accounting needs (see /work/shared/SLURM.md)."""

import collections
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO, measured, run_workflow, small_flow_config

pytestmark = pytest.mark.workflow

TOOLS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "srun")
PATH = os.environ["PATH"] + ":/usr/sbin:/usr/bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node() -> dict:
    """This machine as slurmd sees it (CPUs, sockets, memory), leaving 512 MB to the system."""
    first_line = subprocess.check_output(["slurmd", "-C"], text=True, env={"PATH": PATH}).splitlines()[0]
    fields = dict(item.split("=", 1) for item in first_line.split() if not item.startswith("NodeName="))
    fields["RealMemory"] = str(max(1024, int(fields["RealMemory"]) - 512))
    return fields


SLURM_CONF = """\
ClusterName=hlsnaketest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge}/munge.socket
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={dir}/log/jobcomp.txt
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
ReturnToService=2
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
StateSaveLocation={dir}/state/ctld
SlurmdSpoolDir={dir}/state/d
SlurmctldPidFile={dir}/run/slurmctld.pid
SlurmdPidFile={dir}/run/slurmd.pid
SlurmctldLogFile={dir}/log/slurmctld.log
SlurmdLogFile={dir}/log/slurmd.log
MinJobAge=300
NodeName={host} NodeAddr=127.0.0.1 {node} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""

# The jobstep plugin drops every SLURM_* variable (SLURM_CONF too) before it calls srun
# inside a job; jobs inherit PATH (sbatch --export=ALL), so this srun puts it back.
SRUN = """#!/bin/sh
export SLURM_CONF={conf}
exec {srun} "$@"
"""

# What a user of a cluster without accounting adds in their own profile (the partition
# and account would go here too on a real cluster).
LOCAL_PROFILE = {
    "default-resources": {"slurm_partition": "debug"},
    "slurm-status-command": "squeue",
    "slurm-init-seconds-before-status-checks": 1,  # each check without news waits 10 s longer
    "slurm-keep-successful-logs": True,
}


def _stop(pid_file: Path) -> None:
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A running single-node cluster; yields the environment that submits to it."""
    if os.geteuid() != 0:
        pytest.skip("the SLURM test starts slurmd, which must run as root")
    missing = [tool for tool in TOOLS if not shutil.which(tool, path=PATH)]
    if missing:
        pytest.skip(f"the SLURM test needs the Debian packages slurm-wlm and munge ({', '.join(missing)} not found)")
    top = tmp_path_factory.mktemp("slurm")
    for sub in ("log", "run", "state/ctld", "state/d", "bin", "profile"):
        (top / sub).mkdir(parents=True)
    # munged wants every directory above its socket open to all (pytest's are not)
    munge = Path(tempfile.mkdtemp(prefix="hlsnake-munge-"))
    munge.chmod(0o755)
    conf = top / "slurm.conf"
    conf.write_text(
        SLURM_CONF.format(
            dir=top, munge=munge, host=socket.gethostname().split(".")[0], ctld_port=_free_port(), d_port=_free_port(),
            node=" ".join(f"{k}={v}" for k, v in _node().items()),
        )
    )  # fmt: skip
    srun = top / "bin/srun"
    srun.write_text(SRUN.format(conf=conf, srun=shutil.which("srun", path=PATH)))
    srun.chmod(0o755)
    (top / "profile/config.yaml").write_text(yaml.safe_dump(LOCAL_PROFILE))
    env = {"PATH": f"{top / 'bin'}:{PATH}", "SLURM_CONF": str(conf)}
    daemons = [munge / "munged.pid", top / "run/slurmctld.pid", top / "run/slurmd.pid"]
    try:
        subprocess.run(["mungekey", "--create", f"--keyfile={munge / 'munge.key'}"], check=True, env={"PATH": PATH})
        subprocess.run(
            ["munged", f"--key-file={munge / 'munge.key'}", f"--socket={munge / 'munge.socket'}", f"--pid-file={daemons[0]}",
             f"--log-file={munge / 'munged.log'}", f"--seed-file={munge / 'munged.seed'}"],
            check=True, env={"PATH": PATH},
        )  # fmt: skip
        for daemon in ("slurmctld", "slurmd"):
            subprocess.run([daemon, "-f", str(conf)], check=True, env={**os.environ, **env})
        deadline = time.time() + 60
        while subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, env={**os.environ, **env}).stdout.strip() != "idle":
            assert time.time() < deadline, (top / "log/slurmctld.log").read_text()[-3000:]
            time.sleep(0.2)
        yield top, env
    finally:
        for pid_file in reversed(daemons):
            _stop(pid_file)
        shutil.rmtree(munge)


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    top, env = cluster
    workdir = tmp_path_factory.mktemp("slurm_flow")
    profiles = ["--workflow-profile", str(REPO / "workflow/profiles/slurm"), "--profile", str(top / "profile")]
    start = time.time()
    umask = os.umask(0o022)  # a shared cluster's usual umask: the group and others may read
    try:
        proc = run_workflow(workdir, small_flow_config(), *profiles, env=env)
    finally:
        os.umask(umask)
    print(f"SLURM run: {time.time() - start:.0f} s")
    return workdir, proc, top


def test_every_job_went_through_sbatch(slurm_run):
    workdir, proc, top = slurm_run
    ran = collections.Counter(re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", proc.stdout + proc.stderr))
    submitted = re.findall(r"submitted with SLURM jobid (\d+)", proc.stdout + proc.stderr)
    completed = re.findall(r"^JobId=(\d+) .*JobState=COMPLETED", (top / "log/jobcomp.txt").read_text(), flags=re.M)
    checks = len(json.loads((workdir / "results/digits/mlp/front.json").read_text())["hls"])  # the C simulation of the front
    assert ran["csim_check"] == checks >= 1
    # every job but the local bookkeeping (the target, the front's list) went to the cluster
    assert len(submitted) == sum(n for rule, n in ran.items() if rule not in ("all", "front")) == 10 + checks
    assert sorted(submitted) == sorted(completed)
    for rule in ("prepare_data", "train", "model_step", "hls_convert", "csynth", "report"):
        assert list((workdir / ".snakemake/slurm_logs" / f"rule_{rule}").rglob("*.log")), rule


def test_the_profile_sets_the_cluster_resources(slurm_run):
    _, proc, _ = slurm_run
    jobs = re.findall(r"rule (\w+):\n(?:    .*\n)*?    resources: (.*)", proc.stdout + proc.stderr)
    resources = {rule: dict(item.split("=", 1) for item in text.split(", ")) for rule, text in jobs}
    assert resources["train"]["cpus_per_task"] == "2" and resources["hls_convert"]["cpus_per_task"] == "1"
    assert resources["report"]["runtime"] == "15" and resources["train"]["slurm_partition"] == "debug"


def test_a_line_per_design_in_the_job_logs(slurm_run):
    workdir, _, _ = slurm_run
    logs = [p.read_text() for p in (workdir / ".snakemake/slurm_logs/rule_csynth").rglob("*.log")]
    assert len(logs) == 2 and all(re.search(r"^design results/.*: accuracy 0\.\d+, DSP \d+", log, flags=re.M) for log in logs)
    # the stage's own output is in its job.log, on the shared file system
    stage_logs = [p.read_text() for p in (workdir / "results").rglob("synth_estimate/job.log")]
    assert len(stage_logs) == 2 and all(re.search(r"^csynth \(estimate\): results/.*: DSP \d+", log, flags=re.M) for log in stage_logs)


def test_results_equal_a_local_run(slurm_run, reference_run):
    workdir, _, _ = slurm_run
    assert measured(workdir) == measured(reference_run)


def test_colleagues_can_read_every_result(slurm_run):
    """Under umask 022 every result file is readable by the group and others, as any
    other tool's output would be (atomic writes once made them 0600)."""
    workdir, _, _ = slurm_run
    private = [str(p.relative_to(workdir)) for p in (workdir / "results").rglob("*") if p.stat().st_mode & 0o044 != 0o044]
    assert not private and (workdir / "results/digits/mlp/summary.csv").exists()
