{% from 'macros/aggregates.sql' import level_sum, order_free_avg %}
-- Public result: one row per (model, variant, scope), every level variant side by side, with
-- what each row rests on (level without ties, tasks attempted, wins and ties, coverage).
-- The arithmetic of level_scores__<variant> (sql/models/per_variant: group_scores -> part_scores ->
-- level_scores, readable one variant at a time, what `glc show` and `glc explain` print), done once
-- for every variant: the sums of group_parts are grouped once per way of grouping ('none': one part,
-- 'all'; 'modality': one part per modality), each part's levels are computed under both win rules
-- side by side, and each variant picks its columns in the last step. One pass over the group sums
-- serves every variant, instead of one pass per variant through its views (tests/test_level_properties.py
-- checks that both give the same rows).
-- No float sum depends on the order rows arrive in (sql/macros/aggregates.sql): a group's sigma
-- sums over its modalities add up as exact counts of 2^-52 (each within 699 x 100), and the levels
-- of several parts are averaged the same way (order_free_avg); an AVG over C and G adds two values.
{%- macro harmonic(a, b) %}
CASE
    WHEN {{ a }} > 0 AND {{ b }} > 0 THEN 2 * {{ a }} * {{ b }} / ({{ a }} + {{ b }}) -- harmonic mean of S_C and S_G
    WHEN NOT {{ a }} IS NULL AND NOT {{ b }} IS NULL THEN 0.0
  END
{%- endmacro %}
WITH groups AS (
  -- a group's mean sigma and S per part, under both win rules: 'at_least' (a tie wins) and
  -- 'strictly_better' (what every variant's *_without_ties rests on); as group_scores__<variant>
  SELECT
    model,
    scope,
    'none' AS grouped_by,
    'all' AS part,
    task_group,
    {{ level_sum('sum_sigma') }} / SUM(n_tasks) AS mean_sigma,
    {{ level_sum('sum_at_least') }} / SUM(n_tasks) AS s_at_least,
    {{ level_sum('sum_better') }} / SUM(n_tasks) AS s_better
  FROM group_parts
  GROUP BY
    model,
    scope,
    task_group
  UNION ALL
  -- group_parts holds one row per (model, scope, modality, group): a modality's part as it is
  SELECT
    model,
    scope,
    'modality' AS grouped_by,
    modality AS part,
    task_group,
    sum_sigma / n_tasks AS mean_sigma,
    sum_at_least / n_tasks AS s_at_least,
    sum_better / n_tasks AS s_better
  FROM group_parts
), parts AS (
  -- Levels 2-4 inside each part, as part_scores__<variant>; NLP tasks (group L) enter no part
  SELECT
    model,
    scope,
    grouped_by,
    part,
    AVG(mean_sigma) AS level_2, -- over C and G: at most two values, whose sum is the same either way
    AVG(s_at_least) AS level_3_at_least,
    AVG(s_better) AS level_3_better,
    MAX(CASE WHEN task_group = 'C' THEN s_at_least END) AS s_c_at_least,
    MAX(CASE WHEN task_group = 'G' THEN s_at_least END) AS s_g_at_least,
    MAX(CASE WHEN task_group = 'C' THEN s_better END) AS s_c_better,
    MAX(CASE WHEN task_group = 'G' THEN s_better END) AS s_g_better
  FROM groups
  WHERE
    task_group IN ('C', 'G')
  GROUP BY
    model,
    scope,
    grouped_by,
    part
), combined AS (
  -- equal weight per part (one part, 'all', when grouped by 'none': taken as it is)
  SELECT
    model,
    scope,
    grouped_by,
    {{ order_free_avg('level_2') }} AS l2,
    {{ order_free_avg('level_3_at_least') }} AS l3_at_least,
    {{ order_free_avg('level_3_better') }} AS l3_better,
    {{ order_free_avg(harmonic('s_c_at_least', 's_g_at_least')) }} AS l4_at_least,
    {{ order_free_avg(harmonic('s_c_better', 's_g_better')) }} AS l4_better,
    {{ order_free_avg('s_c_at_least') }} AS s_c_at_least,
    {{ order_free_avg('s_g_at_least') }} AS s_g_at_least,
    {{ order_free_avg('s_c_better') }} AS s_c_better,
    {{ order_free_avg('s_g_better') }} AS s_g_better
  FROM parts
  GROUP BY
    model,
    scope,
    grouped_by
), language AS (
  SELECT
    model,
    scope,
    grouped_by,
    s_at_least AS s_l_at_least,
    s_better AS s_l_better
  FROM groups
  WHERE
    task_group = 'L'
), basis AS (
  -- the counts over every group of the scope (tasks with a SoTA), from the same sums as the levels
  SELECT
    model,
    scope,
    SUM(n_tasks) AS n_tasks,
    SUM(n_supported) AS n_attempted,
    SUM(n_at_least) AS n_at_least,
    SUM(n_better) AS n_better,
    SUM(n_tied) AS n_tied,
    SUM(n_complete) AS n_complete,
    SUM(instances_scored) AS instances_scored,
    SUM(instances_total) AS instances_total
  FROM group_parts
  GROUP BY
    model,
    scope
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
    c.grouped_by,
    sc.max_level,
    c.l2,
    c.l3_at_least,
    c.l3_better,
    c.l4_at_least,
    c.l4_better,
    c.l4_at_least * l.s_l_at_least / 100 AS l5_at_least, -- Level-4 x S_L / 100
    c.l4_better * l.s_l_better / 100 AS l5_better,
    c.s_c_at_least,
    c.s_g_at_least,
    c.s_c_better,
    c.s_g_better,
    l.s_l_at_least,
    l.s_l_better,
    b.n_tasks,
    b.n_attempted,
    b.n_at_least,
    b.n_better,
    b.n_tied,
    b.n_complete,
    b.instances_scored,
    b.instances_total,
    COALESCE(pe.n_pending, 0) AS n_pending
  FROM combined AS c
  JOIN scopes AS sc
    ON sc.scope = c.scope
  LEFT JOIN language AS l
    ON l.model = c.model AND l.scope = c.scope AND l.grouped_by = c.grouped_by
  JOIN basis AS b
    ON b.model = c.model AND b.scope = c.scope
  LEFT JOIN pending AS pe
    ON pe.scope = c.scope
)
{%- for v in levels %}
{%- set w = 'better' if v.win == 'strictly_better' else 'at_least' %}
SELECT
  model,
  {{ v.name | sql_literal }} AS variant,
  scope,
  l2 AS level_2,
  CASE WHEN max_level >= 3 THEN {{ ('l3_' ~ w) | ident }} END AS level_3,
  CASE WHEN max_level >= 4 THEN {{ ('l4_' ~ w) | ident }} END AS level_4,
  CASE WHEN max_level >= 5 THEN {{ ('l5_' ~ w) | ident }} END AS level_5,
  {{ ('s_c_' ~ w) | ident }} AS s_c,
  {{ ('s_g_' ~ w) | ident }} AS s_g,
  {{ ('s_l_' ~ w) | ident }} AS s_l,
  CAST(CASE
    WHEN max_level >= 5 AND {{ ('l5_' ~ w) | ident }} > 0 THEN 5
    WHEN max_level >= 4 AND {{ ('l4_' ~ w) | ident }} > 0 THEN 4
    WHEN max_level >= 3 AND {{ ('l3_' ~ w) | ident }} > 0 THEN 3
    WHEN l2 > 0 THEN 2
    ELSE 1
  END AS INTEGER) AS level, -- the highest level whose score is > 0; specialists are Level-1
  CAST(CASE
    WHEN max_level >= 5 AND l5_better > 0 THEN 5
    WHEN max_level >= 4 AND l4_better > 0 THEN 4
    WHEN max_level >= 3 AND l3_better > 0 THEN 3
    WHEN l2 > 0 THEN 2
    ELSE 1
  END AS INTEGER) AS level_without_ties, -- the same rule when a tie with the SoTA is no win
  CAST(n_tasks AS INTEGER) AS n_tasks,
  CAST(n_attempted AS INTEGER) AS n_attempted,
{%- if v.win == 'strictly_better' %}
  CAST(n_better AS INTEGER) AS n_wins,
  CAST(0 AS INTEGER) AS n_ties, -- a tie is no win
{%- else %}
  CAST(n_at_least AS INTEGER) AS n_wins,
  CAST(n_tied AS INTEGER) AS n_ties,
{%- endif %}
  CAST(n_pending AS INTEGER) AS n_pending,
  CAST(n_complete AS INTEGER) AS n_complete,
  CAST(instances_scored AS BIGINT) AS instances_scored,
  CAST(instances_total AS BIGINT) AS instances_total
FROM scored
WHERE
  grouped_by = {{ v.group_by | sql_literal }}
{%- if not loop.last %}
UNION ALL
{%- endif %}
{%- endfor %}
