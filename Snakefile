# hlsnake: cross-stage design flows for neural networks on FPGAs.
#
#   snakemake --cores all                      # the designs of config/config.yaml
#   snakemake --cores all --configfile my.yaml
#   snakemake --cores all search               # the design-space search (also: random, grid)
#
# Every stage writes into a directory named by its parameters, nested under the stage
# it starts from; each task declares its own directory name (src/hlsnake/tasks/).
import os

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

min_version("9.0")

from hlsnake import config as hlsnake_config
from hlsnake import flows as hlsnake_flows
from hlsnake import space as hlsnake_space

# The embedded default, unless the user gives --configfile (then theirs replaces it whole:
# a partial merge would mix the default's designs into theirs).
if not workflow.overwrite_configfiles:

    configfile: os.path.join(workflow.basedir, "config", "config.yaml")


try:
    _cores = workflow.cores
except WorkflowError:  # no --cores (e.g. a cluster run with --jobs)
    _cores = 1
# Validate before any work: a bad value stops here, naming its key, without a traceback.
# The validated config has every default filled in and every 'auto' resolved.
try:
    _validated = hlsnake_config.validate(config, cores=_cores)
except hlsnake_config.ConfigError as err:
    hlsnake_config.stop(err)
config.clear()
config.update(_validated)

RESULTS = config["results"]
PLAN = hlsnake_flows.compile_config(config)
DESIGNS = PLAN.designs


report: "workflow/report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/model.smk"
include: "rules/hls.smk"
include: "rules/synth.smk"
include: "rules/control.smk"
include: "rules/report.smk"
include: "rules/search.smk"


rule all:
    """The summary of every design of the config (add `search`, `random` or `grid` for a study)."""
    default_target: True
    input:
        summary_files(DESIGNS),
