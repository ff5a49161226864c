-- node: task_wins__strict
-- template: sql/models/per_variant/task_wins.sql
-- level variant: strict
-- materialized: view (its rows follow its inputs; rebuilt only when its SQL changes)
/* Wins against the specialist SoTA under level variant 'strict': */
/* win rule strictly_better. An unsupported task, or one without a SoTA yet, is never a win; */
/* tie marks a result equal to the SoTA (under 'at_least' such a win rests on the tie alone); */
/* shortfall says by how many sigma points a lost task falls short of the SoTA. */
/* A view: a projection of task_results that costs less to compute where it is read than to store. */
SELECT
  "task_results"."model" AS "model",
  "task_results"."task_id" AS "task_id",
  "task_results"."modality" AS "modality",
  "task_results"."paradigm" AS "paradigm",
  "task_results"."task_group" AS "task_group",
  "task_results"."metric" AS "metric",
  "task_results"."raw_score" AS "raw_score",
  "task_results"."sota" AS "sota",
  "task_results"."sigma" AS "sigma",
  "task_results"."sigma_sota" AS "sigma_sota",
  "task_results"."supported" AS "supported",
  "task_results"."has_sota" AS "has_sota",
  "task_results"."vs_sota" AS "vs_sota",
  COALESCE("task_results"."vs_sota" > 0, FALSE) AS "win",
  COALESCE("task_results"."vs_sota" = 0, FALSE) AS "tie",
  CASE
    WHEN "task_results"."supported"
    AND "task_results"."has_sota"
    AND NOT COALESCE("task_results"."vs_sota" > 0, FALSE)
    THEN "task_results"."sigma_sota" - "task_results"."sigma" /* lost to the SoTA */
  END AS "shortfall",
  "task_results"."n_instances" AS "n_instances",
  "task_results"."n_scored" AS "n_scored",
  "task_results"."complete" AS "complete",
  "task_results"."source" AS "source"
FROM "task_results" AS "task_results"
