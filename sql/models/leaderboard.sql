{{ config(materialized='view') }}
-- Ranked boards: by level reached, then by the score of that level. Competition ranking: equal
-- (level, level_score) share a rank and the next rank skips (1, 1, 3). Every format of
-- `glc leaderboard` and the report print this rank. A view: a board is read one (variant, scope) at a
-- time, and ranking one costs less than storing every board.
WITH ranked AS (
  SELECT
    *,
    CASE level
      WHEN 5 THEN level_5
      WHEN 4 THEN level_4
      WHEN 3 THEN level_3
      WHEN 2 THEN level_2
      ELSE 0.0
    END AS level_score
  FROM level_scores
)
SELECT
  RANK() OVER (PARTITION BY variant, scope ORDER BY level DESC, level_score DESC) AS rank,
  model,
  variant,
  scope,
  level,
  level_score,
  level_2,
  level_3,
  level_4,
  level_5,
  s_c,
  s_g,
  s_l,
  level_without_ties,
  n_tasks,
  n_attempted,
  n_wins,
  n_ties,
  n_pending,
  n_complete,
  instances_scored,
  instances_total,
  n_imported
FROM ranked
