-- Public result: one row per (model, variant, scope), every level variant side by side, with
-- what each row rests on (level without ties, tasks attempted, wins and ties, coverage).
{% for v in levels %}
SELECT
  model, variant, scope, level_2, level_3, level_4, level_5, s_c, s_g, s_l, level, level_without_ties,
  n_tasks, n_attempted, n_wins, n_ties, n_pending, n_complete, instances_scored, instances_total
FROM {{ ('level_scores__' ~ v.name) | ident }}
{% if not loop.last %}UNION ALL{% endif %}
{% endfor %}
