-- Ranked boards: by level reached, then by the score of that level.
WITH ranked AS (
  SELECT
    model,
    variant,
    scope,
    level_2,
    level_3,
    level_4,
    level_5,
    s_c,
    s_g,
    s_l,
    level,
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
  s_l
FROM ranked
