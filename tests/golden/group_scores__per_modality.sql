-- node: group_scores__per_modality
-- template: sql/models/per_variant/group_scores.sql
-- level variant: per_modality
/* Group aggregates under level variant 'per_modality' (partition: modality). */
/* Denominators are the number of benchmark tasks of the group in the scope that have a SoTA, */
/* supported or not: sum_sigma = sum(sigma), mean_sigma = sum_sigma / n_tasks; */
/* s = sum(sigma of won tasks) / n_tasks. */
/* A task without a SoTA yet is left out of every sum and count here (it cannot be won, and */
/* counting it in a denominator would lower S for a reason no model controls). */
/* s_without_ties is s counting only wins that beat the SoTA (what the level rests on without ties). */
SELECT
  "w"."model" AS "model",
  "st"."scope" AS "scope",
  "w"."modality" AS "part",
  "w"."task_group" AS "task_group",
  COUNT(*) AS "n_tasks",
  COUNT_IF("w"."supported") AS "n_supported",
  COUNT_IF("w"."win") AS "n_wins",
  COUNT_IF("w"."win" AND "w"."tie") AS "n_ties",
  SUM("w"."sigma") AS "sum_sigma",
  SUM("w"."sigma") / COUNT(*) AS "mean_sigma",
  SUM(CASE WHEN "w"."win" THEN "w"."sigma" ELSE 0.0 END) / COUNT(*) AS "s",
  SUM(CASE WHEN "w"."win" AND NOT "w"."tie" THEN "w"."sigma" ELSE 0.0 END) / COUNT(*) AS "s_without_ties"
FROM "task_wins__per_modality" AS "w"
JOIN "scope_tasks" AS "st"
  ON "st"."task_id" = "w"."task_id"
WHERE
  "w"."has_sota"
GROUP BY
  "w"."model",
  "st"."scope",
  "w"."modality",
  "w"."task_group"
