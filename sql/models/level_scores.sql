-- Public result: one row per (model, variant, scope), every level variant side by side.
{% for v in levels %}
SELECT
  model, variant, scope, level_2, level_3, level_4, level_5, s_c, s_g, s_l, level
FROM {{ ('level_scores__' ~ v.name) | ident }}
{% if not loop.last %}UNION ALL{% endif %}
{% endfor %}
