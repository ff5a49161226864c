-- node: group_scores__per_modality
-- template: sql/models/per_variant/group_scores.sql
-- level variant: per_modality
-- materialized: view (its rows follow its inputs; rebuilt only when its SQL changes)
/* Group aggregates under level variant 'per_modality' (group_by: modality). */
/* Denominators are the number of benchmark tasks of the group in the scope that have a SoTA, */
/* supported or not: sum_sigma = sum(sigma), mean_sigma = sum_sigma / n_tasks; */
/* s = sum(sigma of won tasks) / n_tasks. */
/* A task without a SoTA yet is left out of every sum and count here (it cannot be won, and */
/* counting it in a denominator would lower S for a reason no model controls). */
/* s_without_ties is s counting only wins that beat the SoTA (what the level rests on without ties). */
/* The sums per modality come from group_parts (win rule at_least); a view: they cost less to */
/* add up where they are read than to store per variant. Their sigma sums add up as exact counts of */
/* 2^-52 (level_sum), as in level_scores: in no order of the rows do they differ. */
SELECT
  "g"."model" AS "model",
  "g"."scope" AS "scope",
  "g"."modality" AS "part",
  "g"."task_group" AS "task_group",
  CAST(SUM("g"."n_tasks") AS BIGINT) AS "n_tasks",
  CAST(SUM("g"."n_supported") AS BIGINT) AS "n_supported",
  CAST(SUM("g"."n_at_least") AS BIGINT) AS "n_wins",
  CAST(SUM("g"."n_tied") AS BIGINT) AS "n_ties",
  CAST(SUM(
    CAST(COALESCE(NULLIF(ROUND("g"."sum_sigma" * 4503599627370496.0), 0.0), SIGN("g"."sum_sigma")) AS INT128)
  ) AS DOUBLE) / 4503599627370496.0 AS "sum_sigma",
  CAST(SUM(
    CAST(COALESCE(NULLIF(ROUND("g"."sum_sigma" * 4503599627370496.0), 0.0), SIGN("g"."sum_sigma")) AS INT128)
  ) AS DOUBLE) / 4503599627370496.0 / SUM("g"."n_tasks") AS "mean_sigma",
  CAST(SUM(
    CAST(COALESCE(
      NULLIF(ROUND("g"."sum_at_least" * 4503599627370496.0), 0.0),
      SIGN("g"."sum_at_least")
    ) AS INT128)
  ) AS DOUBLE) / 4503599627370496.0 / SUM("g"."n_tasks") AS "s",
  CAST(SUM(
    CAST(COALESCE(NULLIF(ROUND("g"."sum_better" * 4503599627370496.0), 0.0), SIGN("g"."sum_better")) AS INT128)
  ) AS DOUBLE) / 4503599627370496.0 / SUM("g"."n_tasks") AS "s_without_ties"
FROM "group_parts" AS "g"
GROUP BY
  "g"."model",
  "g"."scope",
  "g"."modality",
  "g"."task_group"
