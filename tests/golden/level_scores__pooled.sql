-- node: level_scores__pooled
-- template: sql/models/per_variant/level_scores.sql
-- level variant: pooled
-- materialized: view (its rows follow its inputs; rebuilt only when its SQL changes)
/* General-Level scores under level variant 'pooled'. */
/* Levels 2-4 are computed once over all tasks of the scope (pooled). */
/* The levels of each part come from part_scores__<variant>; the same arithmetic over wins that */
/* beat the SoTA only (*_nt: no ties) gives level_without_ties; the basis counts say what the row */
/* rests on (tasks, attempts, wins, ties, tasks without a SoTA, instance coverage). A view: the */
/* variant's arithmetic step by step; level_scores computes every variant's rows in one pass and */
/* holds the same rows (tests/test_level_properties.py). */
WITH "combined" AS (
  SELECT
    "part_scores__pooled"."model" AS "model",
    "part_scores__pooled"."scope" AS "scope",
    "part_scores__pooled"."level_2" AS "l2",
    "part_scores__pooled"."level_3" AS "l3",
    "part_scores__pooled"."level_4" AS "l4",
    "part_scores__pooled"."s_c" AS "s_c",
    "part_scores__pooled"."s_g" AS "s_g",
    "part_scores__pooled"."level_3_without_ties" AS "l3_nt",
    "part_scores__pooled"."level_4_without_ties" AS "l4_nt"
  FROM "part_scores__pooled" AS "part_scores__pooled"
), "language" AS (
  SELECT
    "group_scores__pooled"."model" AS "model",
    "group_scores__pooled"."scope" AS "scope",
    "group_scores__pooled"."s" AS "s_l",
    "group_scores__pooled"."s_without_ties" AS "s_l_nt"
  FROM "group_scores__pooled" AS "group_scores__pooled"
  WHERE
    "group_scores__pooled"."task_group" = 'L'
), "basis" AS (
  /* the counts over every group of the scope (tasks with a SoTA), from the same sums as the levels */
  SELECT
    "g"."model" AS "model",
    "g"."scope" AS "scope",
    SUM("g"."n_tasks") AS "n_tasks",
    SUM("g"."n_supported") AS "n_attempted",
    SUM("g"."n_at_least") AS "n_wins",
    SUM("g"."n_tied") AS "n_ties",
    SUM("g"."n_complete") AS "n_complete",
    SUM("g"."instances_scored") AS "instances_scored",
    SUM("g"."instances_total") AS "instances_total",
    SUM("g"."n_imported") AS "n_imported"
  FROM "group_parts" AS "g"
  GROUP BY
    "g"."model",
    "g"."scope"
), "pending" AS (
  /* tasks of each scope without a SoTA yet: the same for every model */
  SELECT
    "st"."scope" AS "scope",
    COUNT(*) AS "n_pending"
  FROM "scope_tasks" AS "st"
  JOIN "task_sota" AS "t"
    ON "t"."task_id" = "st"."task_id"
  WHERE
    "t"."sota" IS NULL
  GROUP BY
    "st"."scope"
), "scored" AS (
  SELECT
    "c"."model" AS "model",
    "c"."scope" AS "scope",
    "sc"."max_level" AS "max_level",
    "c"."l2" AS "l2",
    "c"."l3" AS "l3",
    "c"."l4" AS "l4",
    "c"."l4" * "l"."s_l" / 100 AS "l5", /* Level-4 x S_L / 100 */
    "c"."s_c" AS "s_c",
    "c"."s_g" AS "s_g",
    "l"."s_l" AS "s_l",
    "c"."l3_nt" AS "l3_nt",
    "c"."l4_nt" AS "l4_nt",
    "c"."l4_nt" * "l"."s_l_nt" / 100 AS "l5_nt"
  FROM "combined" AS "c"
  JOIN "scopes" AS "sc"
    ON "sc"."scope" = "c"."scope"
  LEFT JOIN "language" AS "l"
    ON "l"."model" = "c"."model" AND "l"."scope" = "c"."scope"
)
SELECT
  "s"."model" AS "model",
  'pooled' AS "variant",
  "s"."scope" AS "scope",
  "s"."l2" AS "level_2",
  CASE WHEN "s"."max_level" >= 3 THEN "s"."l3" END AS "level_3",
  CASE WHEN "s"."max_level" >= 4 THEN "s"."l4" END AS "level_4",
  CASE WHEN "s"."max_level" >= 5 THEN "s"."l5" END AS "level_5",
  "s"."s_c" AS "s_c",
  "s"."s_g" AS "s_g",
  "s"."s_l" AS "s_l",
  CAST(CASE
    WHEN "s"."max_level" >= 5 AND "s"."l5" > 0
    THEN 5
    WHEN "s"."max_level" >= 4 AND "s"."l4" > 0
    THEN 4
    WHEN "s"."max_level" >= 3 AND "s"."l3" > 0
    THEN 3
    WHEN "s"."l2" > 0
    THEN 2
    ELSE 1
  END AS INT) AS "level", /* the highest level whose score is > 0; specialists are Level-1 */
  CAST(CASE
    WHEN "s"."max_level" >= 5 AND "s"."l5_nt" > 0
    THEN 5
    WHEN "s"."max_level" >= 4 AND "s"."l4_nt" > 0
    THEN 4
    WHEN "s"."max_level" >= 3 AND "s"."l3_nt" > 0
    THEN 3
    WHEN "s"."l2" > 0
    THEN 2
    ELSE 1
  END AS INT) AS "level_without_ties", /* the same rule when a tie with the SoTA is no win */
  CAST("b"."n_tasks" AS INT) AS "n_tasks",
  CAST("b"."n_attempted" AS INT) AS "n_attempted",
  CAST("b"."n_wins" AS INT) AS "n_wins",
  CAST("b"."n_ties" AS INT) AS "n_ties",
  CAST(COALESCE("pe"."n_pending", 0) AS INT) AS "n_pending",
  CAST("b"."n_complete" AS INT) AS "n_complete",
  CAST("b"."instances_scored" AS BIGINT) AS "instances_scored",
  CAST("b"."instances_total" AS BIGINT) AS "instances_total",
  CAST("b"."n_imported" AS INT) AS "n_imported"
FROM "scored" AS "s"
JOIN "basis" AS "b"
  ON "b"."model" = "s"."model" AND "b"."scope" = "s"."scope"
LEFT JOIN "pending" AS "pe"
  ON "pe"."scope" = "s"."scope"
