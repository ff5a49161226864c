-- node: task_results
-- template: sql/models/task_results.sql
-- materialized: view (its rows follow its inputs; rebuilt only when its SQL changes)
/* Normalized result of every model on every benchmark task: the stored numbers (task_outcomes: */
/* raw score, sigma, vs_sota, coverage) with the task's names, group and SoTA (task_sota). A view: */
/* the task strings repeated on every (model, task) row cost more to store than to join where they */
/* are read; its rows change only when a build replaces the tables it reads. */
SELECT
  "o"."model" AS "model",
  "o"."task_id" AS "task_id",
  "t"."task_name" AS "task_name",
  "t"."modality" AS "modality",
  "t"."paradigm" AS "paradigm",
  "t"."task_group" AS "task_group",
  "t"."metric" AS "metric",
  "t"."direction" AS "direction",
  "o"."raw_score" AS "raw_score",
  "t"."sota" AS "sota",
  "o"."sigma" AS "sigma",
  "t"."sigma_sota" AS "sigma_sota",
  NOT "o"."raw_score" IS NULL AS "supported",
  NOT "t"."sota" IS NULL AS "has_sota",
  "o"."vs_sota" AS "vs_sota",
  "o"."n_instances" AS "n_instances",
  "o"."n_scored" AS "n_scored",
  NOT "o"."raw_score" IS NULL
  AND COALESCE("o"."n_scored" >= "o"."n_instances", TRUE) AS "complete",
  "o"."source" AS "source"
FROM "task_outcomes" AS "o"
JOIN "task_sota" AS "t"
  ON "t"."task_id" = "o"."task_id"
