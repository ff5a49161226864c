-- node: task_outcomes
-- template: sql/models/task_outcomes.sql
/* The numbers of task_results: every evaluated model on every benchmark task (cross join: a task */
/* without a score is unsupported, sigma = 0), stored narrow (ids and numbers; task_results, a view, */
/* adds the task's names and SoTA from task_sota): at 1,000 models the task strings on 699,000 rows */
/* cost more to store than the rest of the build. vs_sota is -1, 0 or +1 (worse, tie, better than the */
/* specialist SoTA): lower-is-better metrics compare raw values, because the sigmoid saturates to */
/* exactly 100.0 in floating point; the others compare normalized scores. A task without a SoTA yet */
/* (sota NULL) has no vs_sota: it is scored but never compared. n_instances and n_scored say how */
/* much of the task's data a predicted score rests on. */
/* The cross join is matched with the scores on integer keys (a number per model and per task, */
/* given here; RANK numbers them one by one, as models and tasks are unique in their tables): a hash */
/* join on two strings per row was half of the node's time at thousands of models. */
WITH "model_keys" AS (
  SELECT
    "evaluated_models"."model" AS "model",
    RANK() OVER (ORDER BY "evaluated_models"."model") AS "model_key"
  FROM "evaluated_models" AS "evaluated_models"
), "task_keys" AS (
  SELECT
    "task_sota"."task_id" AS "task_id",
    RANK() OVER (ORDER BY "task_sota"."task_id") AS "task_key"
  FROM "task_sota" AS "task_sota"
), "keyed_scores" AS (
  SELECT
    "mk"."model_key" AS "model_key",
    "tk"."task_key" AS "task_key",
    "s"."score" AS "score",
    "s"."source" AS "source",
    "s"."n_instances" AS "n_instances",
    "s"."n_scored" AS "n_scored"
  FROM "task_scores" AS "s"
  JOIN "model_keys" AS "mk"
    ON "mk"."model" = "s"."model"
  JOIN "task_keys" AS "tk"
    ON "tk"."task_id" = "s"."task_id"
), "scored" AS (
  SELECT
    "m"."model" AS "model",
    "t"."task_id" AS "task_id",
    "t"."direction" AS "direction",
    "s"."score" AS "raw_score",
    "t"."sota" AS "sota",
    "s"."source" AS "source",
    "s"."n_instances" AS "n_instances",
    "s"."n_scored" AS "n_scored",
    CASE "met"."norm_kind"
      WHEN 'identity'
      THEN "s"."score"
      WHEN 'sigmoid_distance'
      THEN CASE
        WHEN "s"."score" = 0
        THEN 100.0
        ELSE 100.0 * (
          2.0 / (
            1.0 + EXP(-"met"."norm_threshold" / "s"."score")
          ) - 1.0
        )
      END
      WHEN 'tanh'
      THEN 100.0 * TANH("s"."score" / "met"."norm_scale")
      WHEN 'complement'
      THEN LEAST(GREATEST("met"."norm_total" - "s"."score", 0.0), 100.0)
      WHEN 'linear'
      THEN LEAST(
        GREATEST(
          100.0 * (
            "s"."score" - "met"."norm_low"
          ) / (
            "met"."norm_high" - "met"."norm_low"
          ),
          0.0
        ),
        100.0
      )
    END AS "sigma_model",
    "t"."sigma_sota" AS "sigma_sota"
  FROM "model_keys" AS "m"
  CROSS JOIN "task_sota" AS "t"
  JOIN "task_keys" AS "tk"
    ON "tk"."task_id" = "t"."task_id"
  JOIN "metrics" AS "met"
    ON "met"."metric" = "t"."metric"
  LEFT JOIN "keyed_scores" AS "s"
    ON "s"."model_key" = "m"."model_key" AND "s"."task_key" = "tk"."task_key"
)
SELECT
  "scored"."model" AS "model",
  "scored"."task_id" AS "task_id",
  "scored"."raw_score" AS "raw_score",
  COALESCE("scored"."sigma_model", 0.0) AS "sigma",
  CAST(CASE
    WHEN "scored"."raw_score" IS NULL OR "scored"."sota" IS NULL
    THEN NULL
    WHEN "scored"."direction" = 'lower'
    THEN CASE
      WHEN ABS("scored"."sota" - "scored"."raw_score") <= 1e-9 * GREATEST(ABS("scored"."sota"), ABS("scored"."raw_score"))
      THEN 0
      ELSE SIGN("scored"."sota" - "scored"."raw_score")
    END
    ELSE CASE
      WHEN ABS("scored"."sigma_model" - "scored"."sigma_sota") <= 1e-9 * GREATEST(ABS("scored"."sigma_model"), ABS("scored"."sigma_sota"))
      THEN 0
      ELSE SIGN("scored"."sigma_model" - "scored"."sigma_sota")
    END
  END AS INT) AS "vs_sota",
  "scored"."n_instances" AS "n_instances",
  "scored"."n_scored" AS "n_scored",
  COALESCE("scored"."source", 'missing') AS "source"
FROM "scored" AS "scored"
