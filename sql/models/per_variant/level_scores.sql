-- General-Level scores under level variant {{ variant.name | sql_literal }}.
{%- if variant.partition == 'modality' %}
-- Levels 2-4 are computed inside each modality and averaged with equal weight over the
-- modalities of the scope; Level-5 multiplies that average Level-4 by S_L / 100.
{%- else %}
-- Levels 2-4 are computed once over all tasks of the scope (pooled).
{%- endif %}
WITH parts AS (
  SELECT
    model,
    scope,
    part,
    AVG(mean_sigma) AS l2, -- 1/2 (sum_C sigma / M + sum_G sigma / N), over the paradigms present
    AVG(s) AS l3, -- 1/2 (S_C + S_G)
    MAX(CASE WHEN task_group = 'C' THEN s END) AS s_c,
    MAX(CASE WHEN task_group = 'G' THEN s END) AS s_g
  FROM {{ ('group_scores__' ~ variant.name) | ident }}
  WHERE
    task_group IN ('C', 'G')
  GROUP BY
    model,
    scope,
    part
), synergy AS (
  SELECT
    model,
    scope,
    part,
    l2,
    l3,
    s_c,
    s_g,
    CASE
      WHEN s_c > 0 AND s_g > 0 THEN 2 * s_c * s_g / (s_c + s_g) -- harmonic mean of S_C and S_G
      WHEN NOT s_c IS NULL AND NOT s_g IS NULL THEN 0.0
    END AS l4
  FROM parts
), combined AS (
{%- if variant.partition == 'modality' %}
  SELECT
    model,
    scope,
    AVG(l2) AS l2, -- equal weight per modality
    AVG(l3) AS l3,
    AVG(l4) AS l4,
    AVG(s_c) AS s_c,
    AVG(s_g) AS s_g
  FROM synergy
  GROUP BY
    model,
    scope
{%- else %}
  SELECT
    model,
    scope,
    l2,
    l3,
    l4,
    s_c,
    s_g
  FROM synergy
{%- endif %}
), language AS (
  SELECT
    model,
    scope,
    s AS s_l
  FROM {{ ('group_scores__' ~ variant.name) | ident }}
  WHERE
    task_group = 'L'
), scored AS (
  SELECT
    c.model,
    c.scope,
    sc.max_level,
    c.l2,
    c.l3,
    c.l4,
    c.l4 * l.s_l / 100 AS l5, -- Level-4 x S_L / 100
    c.s_c,
    c.s_g,
    l.s_l
  FROM combined AS c
  JOIN scopes AS sc
    ON sc.scope = c.scope
  LEFT JOIN language AS l
    ON l.model = c.model AND l.scope = c.scope
)
SELECT
  model,
  {{ variant.name | sql_literal }} AS variant,
  scope,
  l2 AS level_2,
  CASE WHEN max_level >= 3 THEN l3 END AS level_3,
  CASE WHEN max_level >= 4 THEN l4 END AS level_4,
  CASE WHEN max_level >= 5 THEN l5 END AS level_5,
  s_c,
  s_g,
  s_l,
  CAST(CASE
    WHEN max_level >= 5 AND l5 > 0 THEN 5
    WHEN max_level >= 4 AND l4 > 0 THEN 4
    WHEN max_level >= 3 AND l3 > 0 THEN 3
    WHEN l2 > 0 THEN 2
    ELSE 1
  END AS INTEGER) AS level -- the highest level whose score is > 0; specialists are Level-1
FROM scored
