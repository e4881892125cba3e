"""Shared RL utilities: config resolution (:mod:`.config`), model building (:mod:`.build`),
training runs and their directories (:mod:`.run`), grids of runs on local processes or Ray
(:mod:`.grid`), the paper's random search (:mod:`.search`), callbacks (:mod:`.callbacks`), atomic
checkpoints (:mod:`.checkpoints`), the test curve's CSV (:mod:`.evaluations`) and deterministic
rollouts (:mod:`.rollout`)."""
