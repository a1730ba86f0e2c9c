# One round's proposals (search) or the whole space (grid); see src/hlsnake/search.py.
# The proposals are listed in the rule's log; the round's one line of progress comes from
# its evaluation (search_evaluate.py).
from hlsnake import search

if snakemake.rule == "grid_propose":
    search.grid_proposals(snakemake.config, snakemake.output[0])
else:
    with open(snakemake.log[0], "w") as log:
        search.propose_round(
            list(snakemake.input),
            snakemake.output[0],
            int(snakemake.wildcards.round),
            snakemake.config,
            log=lambda line: print(line, file=log, flush=True),
        )
