-- node: level_scores__per_modality
-- template: sql/models/per_variant/level_scores.sql
-- level variant: per_modality
/* General-Level scores under level variant 'per_modality'. */
/* Levels 2-4 are computed inside each modality and averaged with equal weight over the */
/* modalities of the scope; Level-5 multiplies that average Level-4 by S_L / 100. */
WITH "parts" AS (
  SELECT
    "group_scores__per_modality"."model" AS "model",
    "group_scores__per_modality"."scope" AS "scope",
    "group_scores__per_modality"."part" AS "part",
    AVG("group_scores__per_modality"."mean_sigma") AS "l2", /* 1/2 (sum_C sigma / M + sum_G sigma / N), over the paradigms present */
    AVG("group_scores__per_modality"."s") AS "l3", /* 1/2 (S_C + S_G) */
    MAX(
      CASE
        WHEN "group_scores__per_modality"."task_group" = 'C'
        THEN "group_scores__per_modality"."s"
      END
    ) AS "s_c",
    MAX(
      CASE
        WHEN "group_scores__per_modality"."task_group" = 'G'
        THEN "group_scores__per_modality"."s"
      END
    ) AS "s_g"
  FROM "group_scores__per_modality" AS "group_scores__per_modality"
  WHERE
    "group_scores__per_modality"."task_group" IN ('C', 'G')
  GROUP BY
    "group_scores__per_modality"."model",
    "group_scores__per_modality"."scope",
    "group_scores__per_modality"."part"
), "synergy" AS (
  SELECT
    "parts"."model" AS "model",
    "parts"."scope" AS "scope",
    "parts"."part" AS "part",
    "parts"."l2" AS "l2",
    "parts"."l3" AS "l3",
    "parts"."s_c" AS "s_c",
    "parts"."s_g" AS "s_g",
    CASE
      WHEN "parts"."s_c" > 0 AND "parts"."s_g" > 0
      THEN 2 * "parts"."s_c" * "parts"."s_g" / (
        "parts"."s_c" + "parts"."s_g"
      ) /* harmonic mean of S_C and S_G */
      WHEN NOT "parts"."s_c" IS NULL AND NOT "parts"."s_g" IS NULL
      THEN 0.0
    END AS "l4"
  FROM "parts" AS "parts"
), "combined" AS (
  SELECT
    "synergy"."model" AS "model",
    "synergy"."scope" AS "scope",
    AVG("synergy"."l2") AS "l2", /* equal weight per modality */
    AVG("synergy"."l3") AS "l3",
    AVG("synergy"."l4") AS "l4",
    AVG("synergy"."s_c") AS "s_c",
    AVG("synergy"."s_g") AS "s_g"
  FROM "synergy" AS "synergy"
  GROUP BY
    "synergy"."model",
    "synergy"."scope"
), "language" AS (
  SELECT
    "group_scores__per_modality"."model" AS "model",
    "group_scores__per_modality"."scope" AS "scope",
    "group_scores__per_modality"."s" AS "s_l"
  FROM "group_scores__per_modality" AS "group_scores__per_modality"
  WHERE
    "group_scores__per_modality"."task_group" = 'L'
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
    "l"."s_l" AS "s_l"
  FROM "combined" AS "c"
  JOIN "scopes" AS "sc"
    ON "sc"."scope" = "c"."scope"
  LEFT JOIN "language" AS "l"
    ON "l"."model" = "c"."model" AND "l"."scope" = "c"."scope"
)
SELECT
  "scored"."model" AS "model",
  'per_modality' AS "variant",
  "scored"."scope" AS "scope",
  "scored"."l2" AS "level_2",
  CASE WHEN "scored"."max_level" >= 3 THEN "scored"."l3" END AS "level_3",
  CASE WHEN "scored"."max_level" >= 4 THEN "scored"."l4" END AS "level_4",
  CASE WHEN "scored"."max_level" >= 5 THEN "scored"."l5" END AS "level_5",
  "scored"."s_c" AS "s_c",
  "scored"."s_g" AS "s_g",
  "scored"."s_l" AS "s_l",
  CAST(CASE
    WHEN "scored"."max_level" >= 5 AND "scored"."l5" > 0
    THEN 5
    WHEN "scored"."max_level" >= 4 AND "scored"."l4" > 0
    THEN 4
    WHEN "scored"."max_level" >= 3 AND "scored"."l3" > 0
    THEN 3
    WHEN "scored"."l2" > 0
    THEN 2
    ELSE 1
  END AS INT) AS "level" /* the highest level whose score is > 0; specialists are Level-1 */
FROM "scored" AS "scored"
