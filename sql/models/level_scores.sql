{% from 'macros/aggregates.sql' import level_units, from_units, order_free_avg %}
-- Public result: one row per (model, variant, scope), every level variant side by side, with
-- what each row rests on (level without ties, tasks attempted, wins and ties, coverage).
-- The arithmetic of level_scores__<variant> (sql/models/per_variant: group_scores -> part_scores ->
-- level_scores, readable one variant at a time, what `glc show` and `glc explain` print), done once
-- for every variant in two passes over the group sums: the rows of group_parts of each (model, scope,
-- modality) become one row (groups: the modality's part and its groups' sums side by side), and those
-- of each (model, scope) one row (combined) that holds both ways of grouping, 'none' (one part, 'all':
-- each group's sums added up over the modalities) and 'modality' (the equal-weight mean of the
-- modalities' parts), each under both win rules; each variant picks its columns in the last step.
-- tests/test_level_properties.py checks that the per-variant views give the same rows.
-- No float sum depends on the order rows arrive in (sql/macros/aggregates.sql): a group's sigma
-- sums over its modalities add up as exact counts of 2^-52 (each within 699 x 100), and the levels
-- of several parts are averaged the same way (order_free_avg); a mean over C and G adds two values.
{%- macro harmonic(a, b) %}
CASE
    WHEN {{ a }} > 0 AND {{ b }} > 0 THEN 2 * {{ a }} * {{ b }} / ({{ a }} + {{ b }}) -- harmonic mean of S_C and S_G
    WHEN NOT {{ a }} IS NULL AND NOT {{ b }} IS NULL THEN 0.0
  END
{%- endmacro %}
{#- the mean of the values of C and G present, as AVG over their rows: (C + G) / 2, or the one value -#}
{%- macro mean_cg(c, g) %}
CASE WHEN {{ c }} IS NULL THEN {{ g }} WHEN {{ g }} IS NULL THEN {{ c }} ELSE ({{ c }} + {{ g }}) / 2 END
{%- endmacro %}
{#- the columns of combined: over a group of rows of parts (grouped) or of one row (not grouped), the
    same values bit for bit (a sum of one row is its value, order_free_avg of one value that value) -#}
{%- macro combined_columns(grouped) %}
{%- for col, name in [('sum_sigma', 'mean_sigma'), ('sum_at_least', 's_at_least'), ('sum_better', 's_better')] %}
{%- for grp in ['c', 'g', 'l'] %}
{%- if grouped %}
    {{ from_units('SUM(' ~ level_units(col ~ '_' ~ grp) ~ ')') }} / SUM({{ ('n_' ~ grp) | ident }}) AS {{ ('p_' ~ name ~ '_' ~ grp) | ident }},
{%- else %}
    {{ from_units(level_units(col ~ '_' ~ grp)) }} / CAST({{ ('n_' ~ grp) | ident }} AS HUGEINT) AS {{ ('p_' ~ name ~ '_' ~ grp) | ident }},
{%- endif %}
{%- endfor %}
{%- endfor %}
{%- for col in ['level_2', 'level_3_at_least', 'level_3_better', 'level_4_at_least', 'level_4_better',
                's_c_at_least', 's_g_at_least', 's_c_better', 's_g_better'] %}
    {{ order_free_avg(col) if grouped else col | ident }} AS {{ ('m_' ~ col) | ident }},
{%- endfor %}
{%- for col in ['s_l_at_least', 's_l_better'] %}
    {{ ('MAX(' ~ col ~ ')') if grouped else col | ident }} AS {{ ('m_' ~ col) | ident }}, -- the NLP modality's: the only one with group L
{%- endfor %}
{%- for col in ['n_tasks', 'n_attempted', 'n_at_least', 'n_better', 'n_tied', 'n_complete', 'instances_scored',
                'instances_total', 'n_imported'] %}
    {{ ('SUM(' ~ col ~ ')') if grouped else ('CAST(' ~ col ~ ' AS HUGEINT)') }} AS {{ col | ident }}{{ ',' if not loop.last }}
{%- endfor %}
{%- endmacro %}
WITH groups AS (
  -- one row per (model, scope, modality): the sums of its groups C, G and L side by side (one row of
  -- group_parts each) and the counts over its groups; parts adds the modality's part (Levels 2-4
  -- inside it, under both win rules: 'at_least', a tie wins; 'strictly_better', what every variant's
  -- *_without_ties rests on; NLP tasks, group L, enter no part), computed from those columns (the
  -- mean over C and G as AVG over their rows computes it)
  SELECT
    model,
    scope,
{%- for grp in ['C', 'G', 'L'] %}
    MAX(CASE WHEN task_group = {{ grp | sql_literal }} THEN n_tasks END) AS {{ ('n_' ~ grp | lower) | ident }},
{%- for col in ['sum_sigma', 'sum_at_least', 'sum_better'] %}
    MAX(CASE WHEN task_group = {{ grp | sql_literal }} THEN {{ col | ident }} END) AS {{ (col ~ '_' ~ grp | lower) | ident }},
{%- endfor %}
{%- endfor %}
    -- counts of at most three rows, within BIGINT (whose sums cost less than HUGEINT's)
    CAST(SUM(n_tasks) AS BIGINT) AS n_tasks,
    CAST(SUM(n_supported) AS BIGINT) AS n_attempted,
    CAST(SUM(n_at_least) AS BIGINT) AS n_at_least,
    CAST(SUM(n_better) AS BIGINT) AS n_better,
    CAST(SUM(n_tied) AS BIGINT) AS n_tied,
    CAST(SUM(n_complete) AS BIGINT) AS n_complete,
    CAST(SUM(instances_scored) AS BIGINT) AS instances_scored,
    CAST(SUM(instances_total) AS BIGINT) AS instances_total,
    CAST(SUM(n_imported) AS BIGINT) AS n_imported
  FROM group_parts
  GROUP BY
    model,
    scope,
    modality
), parts AS (
  SELECT
    *,
    {{ harmonic('s_c_at_least', 's_g_at_least') }} AS level_4_at_least,
    {{ harmonic('s_c_better', 's_g_better') }} AS level_4_better
  FROM (
    SELECT
      *,
      {{ mean_cg('sum_sigma_c / n_c', 'sum_sigma_g / n_g') }} AS level_2,
      {{ mean_cg('sum_at_least_c / n_c', 'sum_at_least_g / n_g') }} AS level_3_at_least,
      {{ mean_cg('sum_better_c / n_c', 'sum_better_g / n_g') }} AS level_3_better,
      sum_at_least_c / n_c AS s_c_at_least,
      sum_at_least_g / n_g AS s_g_at_least,
      sum_better_c / n_c AS s_c_better,
      sum_better_g / n_g AS s_g_better,
      sum_at_least_l / n_l AS s_l_at_least,
      sum_better_l / n_l AS s_l_better
    FROM groups
  ) AS g
), multi AS (
  -- the scopes whose tasks with a SoTA span more than one modality (5 of the catalog's 80): only their
  -- (model, scope) rows add up several rows of parts; every other scope has one row of parts per model
  SELECT
    scope
  FROM (
    SELECT
      scope,
      MIN(modality) AS first_modality,
      MAX(modality) AS last_modality
    FROM group_parts
    GROUP BY
      scope
  ) AS m
  WHERE
    first_modality <> last_modality
), combined AS (
  -- per (model, scope): each group's mean sigma and S pooled over the modalities (p_*: its sums
  -- added up as exact counts, over its count of tasks), the mean of the modalities' parts (m_*),
  -- and the counts over every group of the scope (tasks with a SoTA), from the same sums as the levels.
  -- A scope of one modality (scopes not in multi) has one row per model: its columns are that row's
  -- own, the same values as the grouped expressions give over one row, without hashing the row into a
  -- group (at 1,000 models: 93,000 rows of parts, of which 18,000 are in multi); the others are added up
  -- over their modalities.
  SELECT
    model,
    scope,
{{- combined_columns(true) }}
  FROM parts
  WHERE
    scope IN (SELECT scope FROM multi)
  GROUP BY
    model,
    scope
  UNION ALL
  SELECT
    model,
    scope,
{{- combined_columns(false) }}
  FROM parts
  WHERE
    NOT scope IN (SELECT scope FROM multi)
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
  -- both ways of grouping side by side: <grouping>_l<k>_<win rule> and <grouping>_s_<group>_<win rule>
  SELECT
    c.model,
    c.scope,
    sc.max_level,
    {{ mean_cg('c.p_mean_sigma_c', 'c.p_mean_sigma_g') }} AS none_l2,
{%- for w in ['at_least', 'better'] %}
    {{ mean_cg('c.p_s_' ~ w ~ '_c', 'c.p_s_' ~ w ~ '_g') }} AS {{ ('none_l3_' ~ w) | ident }},
    {{ harmonic('c.p_s_' ~ w ~ '_c', 'c.p_s_' ~ w ~ '_g') }} AS {{ ('none_l4_' ~ w) | ident }},
    c.{{ ('p_s_' ~ w ~ '_c') | ident }} AS {{ ('none_s_c_' ~ w) | ident }},
    c.{{ ('p_s_' ~ w ~ '_g') | ident }} AS {{ ('none_s_g_' ~ w) | ident }},
    c.{{ ('p_s_' ~ w ~ '_l') | ident }} AS {{ ('none_s_l_' ~ w) | ident }},
{%- endfor %}
    c.m_level_2 AS modality_l2,
{%- for w in ['at_least', 'better'] %}
    c.{{ ('m_level_3_' ~ w) | ident }} AS {{ ('modality_l3_' ~ w) | ident }},
    c.{{ ('m_level_4_' ~ w) | ident }} AS {{ ('modality_l4_' ~ w) | ident }},
    c.{{ ('m_s_c_' ~ w) | ident }} AS {{ ('modality_s_c_' ~ w) | ident }},
    c.{{ ('m_s_g_' ~ w) | ident }} AS {{ ('modality_s_g_' ~ w) | ident }},
    c.{{ ('m_s_l_' ~ w) | ident }} AS {{ ('modality_s_l_' ~ w) | ident }},
{%- endfor %}
    c.n_tasks,
    c.n_attempted,
    c.n_at_least,
    c.n_better,
    c.n_tied,
    c.n_complete,
    c.instances_scored,
    c.instances_total,
    c.n_imported,
    COALESCE(pe.n_pending, 0) AS n_pending
  FROM combined AS c
  JOIN scopes AS sc
    ON sc.scope = c.scope
  LEFT JOIN pending AS pe
    ON pe.scope = c.scope
  WHERE
    NOT c.m_level_2 IS NULL -- a scope without comprehension or generation tasks has no part, and no row
)
{%- for v in levels %}
{%- set g = 'none_' if v.group_by == 'none' else 'modality_' %}
{%- set w = 'better' if v.win == 'strictly_better' else 'at_least' %}
SELECT
  model,
  {{ v.name | sql_literal }} AS variant,
  scope,
  {{ (g ~ 'l2') | ident }} AS level_2,
  CASE WHEN max_level >= 3 THEN {{ (g ~ 'l3_' ~ w) | ident }} END AS level_3,
  CASE WHEN max_level >= 4 THEN {{ (g ~ 'l4_' ~ w) | ident }} END AS level_4,
  CASE WHEN max_level >= 5 THEN {{ (g ~ 'l4_' ~ w) | ident }} * {{ (g ~ 's_l_' ~ w) | ident }} / 100 END AS level_5, -- Level-4 x S_L / 100
  {{ (g ~ 's_c_' ~ w) | ident }} AS s_c,
  {{ (g ~ 's_g_' ~ w) | ident }} AS s_g,
  {{ (g ~ 's_l_' ~ w) | ident }} AS s_l,
  CAST(CASE
    WHEN max_level >= 5 AND {{ (g ~ 'l4_' ~ w) | ident }} * {{ (g ~ 's_l_' ~ w) | ident }} / 100 > 0 THEN 5
    WHEN max_level >= 4 AND {{ (g ~ 'l4_' ~ w) | ident }} > 0 THEN 4
    WHEN max_level >= 3 AND {{ (g ~ 'l3_' ~ w) | ident }} > 0 THEN 3
    WHEN {{ (g ~ 'l2') | ident }} > 0 THEN 2
    ELSE 1
  END AS INTEGER) AS level, -- the highest level whose score is > 0; specialists are Level-1
  CAST(CASE
    WHEN max_level >= 5 AND {{ (g ~ 'l4_better') | ident }} * {{ (g ~ 's_l_better') | ident }} / 100 > 0 THEN 5
    WHEN max_level >= 4 AND {{ (g ~ 'l4_better') | ident }} > 0 THEN 4
    WHEN max_level >= 3 AND {{ (g ~ 'l3_better') | ident }} > 0 THEN 3
    WHEN {{ (g ~ 'l2') | ident }} > 0 THEN 2
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
  CAST(instances_total AS BIGINT) AS instances_total,
  CAST(n_imported AS INTEGER) AS n_imported
FROM scored
{%- if not loop.last %}
UNION ALL
{%- endif %}
{%- endfor %}
