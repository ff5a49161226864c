{% from 'macros/aggregates.sql' import order_free_avg %}
{{ config(materialized='view') }}
-- General-Level scores under level variant {{ variant.name | sql_literal }}.
{%- if variant.group_by == 'modality' %}
-- Levels 2-4 are computed inside each modality and averaged with equal weight over the
-- modalities of the scope; Level-5 multiplies that average Level-4 by S_L / 100.
{%- else %}
-- Levels 2-4 are computed once over all tasks of the scope (pooled).
{%- endif %}
-- The levels of each part come from part_scores__<variant>; the same arithmetic over wins that
-- beat the SoTA only (*_nt: no ties) gives level_without_ties; the basis counts say what the row
-- rests on (tasks, attempts, wins, ties, tasks without a SoTA, instance coverage). A view: the
-- variant's arithmetic step by step; level_scores computes every variant's rows in one pass and
-- holds the same rows (tests/test_level_properties.py).
WITH combined AS (
{%- if variant.group_by == 'modality' %}
  SELECT
    model,
    scope,
    {{ order_free_avg('level_2') }} AS l2, -- equal weight per modality, in any order of the rows
    {{ order_free_avg('level_3') }} AS l3,
    {{ order_free_avg('level_4') }} AS l4,
    {{ order_free_avg('s_c') }} AS s_c,
    {{ order_free_avg('s_g') }} AS s_g,
    {{ order_free_avg('level_3_without_ties') }} AS l3_nt,
    {{ order_free_avg('level_4_without_ties') }} AS l4_nt
  FROM {{ ('part_scores__' ~ variant.name) | ident }}
  GROUP BY
    model,
    scope
{%- else %}
  SELECT
    model,
    scope,
    level_2 AS l2,
    level_3 AS l3,
    level_4 AS l4,
    s_c,
    s_g,
    level_3_without_ties AS l3_nt,
    level_4_without_ties AS l4_nt
  FROM {{ ('part_scores__' ~ variant.name) | ident }}
{%- endif %}
), language AS (
  SELECT
    model,
    scope,
    s AS s_l,
    s_without_ties AS s_l_nt
  FROM {{ ('group_scores__' ~ variant.name) | ident }}
  WHERE
    task_group = 'L'
), basis AS (
  -- the counts over every group of the scope (tasks with a SoTA), from the same sums as the levels
  SELECT
    g.model,
    g.scope,
    SUM(g.n_tasks) AS n_tasks,
    SUM(g.n_supported) AS n_attempted,
{%- if variant.win == 'strictly_better' %}
    SUM(g.n_better) AS n_wins,
    0 AS n_ties,
{%- else %}
    SUM(g.n_at_least) AS n_wins,
    SUM(g.n_tied) AS n_ties,
{%- endif %}
    SUM(g.n_complete) AS n_complete,
    SUM(g.instances_scored) AS instances_scored,
    SUM(g.instances_total) AS instances_total,
    SUM(g.n_imported) AS n_imported
  FROM group_parts AS g
  GROUP BY
    g.model,
    g.scope
), pending AS (
  -- tasks of each scope without a SoTA yet: the same for every model
  SELECT
    st.scope,
    COUNT(*) AS n_pending
  FROM scope_tasks AS st
  JOIN task_sota AS t
    ON t.task_id = st.task_id
  WHERE
    t.sota IS NULL
  GROUP BY
    st.scope
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
    l.s_l,
    c.l3_nt,
    c.l4_nt,
    c.l4_nt * l.s_l_nt / 100 AS l5_nt
  FROM combined AS c
  JOIN scopes AS sc
    ON sc.scope = c.scope
  LEFT JOIN language AS l
    ON l.model = c.model AND l.scope = c.scope
)
SELECT
  s.model,
  {{ variant.name | sql_literal }} AS variant,
  s.scope,
  s.l2 AS level_2,
  CASE WHEN s.max_level >= 3 THEN s.l3 END AS level_3,
  CASE WHEN s.max_level >= 4 THEN s.l4 END AS level_4,
  CASE WHEN s.max_level >= 5 THEN s.l5 END AS level_5,
  s.s_c,
  s.s_g,
  s.s_l,
  CAST(CASE
    WHEN s.max_level >= 5 AND s.l5 > 0 THEN 5
    WHEN s.max_level >= 4 AND s.l4 > 0 THEN 4
    WHEN s.max_level >= 3 AND s.l3 > 0 THEN 3
    WHEN s.l2 > 0 THEN 2
    ELSE 1
  END AS INTEGER) AS level, -- the highest level whose score is > 0; specialists are Level-1
  CAST(CASE
    WHEN s.max_level >= 5 AND s.l5_nt > 0 THEN 5
    WHEN s.max_level >= 4 AND s.l4_nt > 0 THEN 4
    WHEN s.max_level >= 3 AND s.l3_nt > 0 THEN 3
    WHEN s.l2 > 0 THEN 2
    ELSE 1
  END AS INTEGER) AS level_without_ties, -- the same rule when a tie with the SoTA is no win
  CAST(b.n_tasks AS INTEGER) AS n_tasks,
  CAST(b.n_attempted AS INTEGER) AS n_attempted,
  CAST(b.n_wins AS INTEGER) AS n_wins,
  CAST(b.n_ties AS INTEGER) AS n_ties,
  CAST(COALESCE(pe.n_pending, 0) AS INTEGER) AS n_pending,
  CAST(b.n_complete AS INTEGER) AS n_complete,
  CAST(b.instances_scored AS BIGINT) AS instances_scored,
  CAST(b.instances_total AS BIGINT) AS instances_total,
  CAST(b.n_imported AS INTEGER) AS n_imported
FROM scored AS s
JOIN basis AS b
  ON b.model = s.model AND b.scope = s.scope
LEFT JOIN pending AS pe
  ON pe.scope = s.scope
