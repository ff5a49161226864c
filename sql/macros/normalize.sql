{#- Normalized score sigma (0-100, higher is better) of a raw metric value: docs/general-level.md,
    section "Normalized score (sigma)"; every metric's kind and parameters in docs/metrics.md.
    `x` is a SQL expression, `m` the alias of a `metrics` row joined to it; each kind reads its
    own named parameter columns (norm_threshold, norm_scale, norm_total, norm_low, norm_high). -#}
{% macro normalize(x, m) -%}
CASE {{ m }}.norm_kind
  WHEN 'identity' THEN {{ x }}
  WHEN 'sigmoid_distance' THEN CASE
    WHEN {{ x }} = 0 THEN 100.0
    ELSE 100.0 * (2.0 / (1.0 + EXP(-{{ m }}.norm_threshold / {{ x }})) - 1.0)
  END
  WHEN 'tanh' THEN 100.0 * TANH({{ x }} / {{ m }}.norm_scale)
  WHEN 'complement' THEN LEAST(GREATEST({{ m }}.norm_total - {{ x }}, 0.0), 100.0)
  WHEN 'linear' THEN LEAST(GREATEST(100.0 * ({{ x }} - {{ m }}.norm_low) / ({{ m }}.norm_high - {{ m }}.norm_low), 0.0), 100.0)
END
{%- endmacro %}
